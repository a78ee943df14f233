/**
 * The words seeded courses and people are made of. Load tests draw their search terms from here too
 * (`SEARCH_TERMS`), so a "common" search really matches many courses and a "rare" one only a few:
 * `bun scripts/seed/vocabulary.ts` prints the terms as JSON for tools not written in TypeScript.
 */

export type Topic = { name: string; subjects: readonly string[] };

export const TOPICS: readonly Topic[] = [
  {
    name: "Python",
    subjects: ["data structures", "web scraping", "automation scripts", "unit testing", "asyncio", "packaging"],
  },
  {
    name: "JavaScript",
    subjects: ["closures", "promises", "the DOM", "modules", "event loops", "functional patterns"],
  },
  { name: "TypeScript", subjects: ["generics", "type narrowing", "declaration files", "strict mode", "utility types"] },
  { name: "Rust", subjects: ["ownership", "borrowing", "traits", "error handling", "concurrency", "macros"] },
  { name: "Go", subjects: ["goroutines", "channels", "interfaces", "HTTP servers", "profiling"] },
  { name: "Java", subjects: ["collections", "streams", "Spring Boot", "concurrency", "the JVM"] },
  { name: "C++", subjects: ["templates", "memory management", "the STL", "move semantics", "game engines"] },
  { name: "SQL", subjects: ["joins", "window functions", "query plans", "indexes", "transactions", "schema design"] },
  { name: "Kotlin", subjects: ["coroutines", "Android apps", "null safety", "DSLs"] },
  { name: "Swift", subjects: ["SwiftUI", "iOS apps", "protocols", "concurrency"] },
  {
    name: "Web Development",
    subjects: ["responsive layouts", "REST APIs", "authentication", "web performance", "accessibility"],
  },
  { name: "React", subjects: ["hooks", "state management", "server rendering", "component design", "forms"] },
  { name: "Node.js", subjects: ["REST APIs", "streams", "event loops", "testing", "deployment"] },
  { name: "HTML and CSS", subjects: ["flexbox", "grid layouts", "animations", "responsive layouts", "forms"] },
  {
    name: "Data Science",
    subjects: ["data cleaning", "pandas", "exploratory analysis", "feature engineering", "notebooks"],
  },
  {
    name: "Machine Learning",
    subjects: ["regression", "classification", "decision trees", "model evaluation", "neural networks"],
  },
  {
    name: "Deep Learning",
    subjects: ["neural networks", "convolutional networks", "transformers", "training at scale"],
  },
  {
    name: "Statistics",
    subjects: ["probability", "hypothesis testing", "regression", "Bayesian thinking", "sampling"],
  },
  { name: "Data Visualization", subjects: ["dashboards", "chart design", "storytelling with data", "maps"] },
  { name: "Excel", subjects: ["formulas", "pivot tables", "charts", "macros", "financial models"] },
  { name: "Docker", subjects: ["images", "containers", "compose files", "networking", "multi-stage builds"] },
  { name: "Kubernetes", subjects: ["deployments", "services", "autoscaling", "Helm charts", "observability"] },
  { name: "Linux", subjects: ["the shell", "shell scripting", "permissions", "system administration", "networking"] },
  {
    name: "Cloud Computing",
    subjects: ["serverless functions", "object storage", "infrastructure as code", "cost control"],
  },
  {
    name: "Cybersecurity",
    subjects: ["threat modeling", "web security", "cryptography", "incident response", "penetration testing"],
  },
  { name: "Computer Networking", subjects: ["TCP and UDP", "DNS", "routing", "network security", "packet analysis"] },
  { name: "Git", subjects: ["branching", "rebasing", "code review", "team workflows"] },
  { name: "Graphic Design", subjects: ["layout", "color theory", "branding", "logo design", "print design"] },
  {
    name: "UX Design",
    subjects: ["user research", "wireframes", "prototyping", "usability testing", "design systems"],
  },
  { name: "Illustration", subjects: ["character design", "digital painting", "sketching", "storyboards"] },
  { name: "Typography", subjects: ["type pairing", "hierarchy", "lettering", "web fonts"] },
  { name: "3D Modeling", subjects: ["Blender", "sculpting", "texturing", "lighting", "animation"] },
  { name: "Marketing", subjects: ["brand strategy", "copywriting", "market research", "pricing", "campaigns"] },
  {
    name: "Digital Marketing",
    subjects: ["search engine optimization", "social media", "email campaigns", "analytics", "paid ads"],
  },
  { name: "Project Management", subjects: ["agile methods", "scrum", "risk management", "planning", "stakeholders"] },
  { name: "Accounting", subjects: ["bookkeeping", "financial statements", "taxes", "budgeting"] },
  { name: "Personal Finance", subjects: ["budgeting", "investing", "retirement planning", "index funds", "debt"] },
  { name: "Entrepreneurship", subjects: ["business plans", "fundraising", "product market fit", "pricing", "hiring"] },
  { name: "Public Speaking", subjects: ["storytelling", "slide design", "stage presence", "handling questions"] },
  { name: "Negotiation", subjects: ["preparation", "salary talks", "difficult conversations", "closing deals"] },
  {
    name: "Photography",
    subjects: ["composition", "lighting", "portraits", "landscapes", "photo editing", "street photography"],
  },
  { name: "Video Editing", subjects: ["cutting", "color grading", "sound design", "motion graphics"] },
  { name: "Music Theory", subjects: ["scales", "chords", "harmony", "rhythm", "ear training"] },
  { name: "Guitar", subjects: ["chords", "fingerpicking", "blues", "scales", "rhythm"] },
  { name: "Piano", subjects: ["sight reading", "chords", "classical pieces", "improvisation"] },
  { name: "Songwriting", subjects: ["lyrics", "melody", "song structure", "home recording"] },
  { name: "Drawing", subjects: ["perspective", "figure drawing", "shading", "sketching"] },
  { name: "Watercolor Painting", subjects: ["washes", "color mixing", "landscapes", "botanical painting"] },
  { name: "Creative Writing", subjects: ["short stories", "dialogue", "worldbuilding", "editing", "poetry"] },
  { name: "Spanish", subjects: ["conversation", "grammar", "vocabulary", "listening", "travel phrases"] },
  { name: "French", subjects: ["conversation", "grammar", "pronunciation", "vocabulary"] },
  { name: "German", subjects: ["grammar", "conversation", "vocabulary", "reading"] },
  { name: "Japanese", subjects: ["hiragana", "kanji", "conversation", "grammar"] },
  { name: "Mandarin Chinese", subjects: ["tones", "characters", "conversation", "grammar"] },
  { name: "English Grammar", subjects: ["tenses", "punctuation", "business writing", "essays"] },
  { name: "Cooking", subjects: ["knife skills", "sauces", "meal planning", "vegetarian dishes", "world cuisines"] },
  { name: "Baking", subjects: ["bread", "pastry", "cakes", "cookies"] },
  { name: "Yoga", subjects: ["breathing", "flexibility", "morning routines", "balance"] },
  { name: "Nutrition", subjects: ["meal planning", "sports nutrition", "healthy habits", "reading labels"] },
  { name: "Gardening", subjects: ["vegetables", "composting", "small spaces", "houseplants"] },
  { name: "Mindfulness", subjects: ["meditation", "stress relief", "focus", "sleep"] },
  { name: "Chess", subjects: ["openings", "tactics", "endgames", "strategy"] },
  { name: "Woodworking", subjects: ["hand tools", "joinery", "finishing", "furniture"] },
  { name: "Astronomy", subjects: ["the solar system", "stargazing", "telescopes", "galaxies"] },
  { name: "Physics", subjects: ["mechanics", "electricity", "waves", "thermodynamics", "relativity"] },
  { name: "Chemistry", subjects: ["the periodic table", "reactions", "organic chemistry", "lab safety"] },
  { name: "Biology", subjects: ["cells", "genetics", "evolution", "ecology", "the human body"] },
  { name: "Calculus", subjects: ["limits", "derivatives", "integrals", "series"] },
  { name: "Linear Algebra", subjects: ["vectors", "matrices", "eigenvalues", "transformations"] },
];

export const LEVELS = ["beginner", "intermediate", "advanced"] as const;
export type Level = (typeof LEVELS)[number];

/** `{topic}` and `{subject}` are filled in; each level has its own way of naming a course. */
export const TITLE_TEMPLATES: Record<Level, readonly string[]> = {
  beginner: [
    "{topic} for Beginners",
    "Introduction to {topic}",
    "{topic} Basics: {subject}",
    "Getting Started with {topic}",
    "{topic} from Scratch",
    "First Steps in {topic}: {subject}",
  ],
  intermediate: [
    "Practical {topic}: {subject}",
    "{subject} with {topic}",
    "{topic} in Practice",
    "Hands-On {topic}: {subject}",
    "The {topic} Workshop: {subject}",
  ],
  advanced: [
    "Advanced {topic}: {subject}",
    "Mastering {subject} in {topic}",
    "{topic} Masterclass: {subject}",
    "Expert {topic}: {subject}",
    "Deep Dive into {subject} ({topic})",
  ],
};

export const LEVEL_WORDS: Record<Level, string> = {
  beginner: "beginner-friendly",
  intermediate: "practical",
  advanced: "in-depth",
};

/** The first sentence of a description: `{topic}`, `{level}`, `{s1}`, `{s2}`, `{s3}`. */
export const OPENINGS: readonly string[] = [
  "Learn {s1} and {s2} through short lessons and hands-on {topic} projects.",
  "A {level} course on {topic} that covers {s1}, {s2} and {s3}.",
  "This course takes you through {s1} and {s2}, one practical step at a time.",
  "Build real skills in {topic}: {s1}, {s2} and {s3}, explained with clear examples.",
  "Everything you need to know about {s1} in {topic}, with exercises after every lesson.",
];

export const OUTCOMES: readonly string[] = [
  "By the end you will apply {s1} to problems of your own.",
  "You will finish with a small portfolio project built around {s2}.",
  "You will understand the ideas behind {s2} instead of memorising recipes.",
  "You will learn the common mistakes of {topic} and how to avoid them.",
  "Each module ends with a review of {s1} and a short quiz.",
];

export const AUDIENCES: readonly string[] = [
  "students",
  "career changers",
  "hobbyists",
  "working professionals",
  "self-taught learners",
  "team leads",
  "freelancers",
  "teachers",
  "anyone curious",
];

export const FORMATS: readonly string[] = [
  "About {hours} hours of video, quizzes and exercises.",
  "{hours} hours of guided lessons with downloadable notes.",
  "Self-paced: {hours} hours of material, with a certificate at the end.",
];

/**
 * Words that appear in only a few courses (about one course in 2,000 each, and at least once in any
 * dataset with as many courses as there are words): a search for one of them matches little and,
 * without an index, has to scan the whole table to find it.
 */
export const RARE_WORDS: readonly string[] = [
  "kintsugi",
  "quaternion",
  "zettelkasten",
  "bioluminescence",
  "marquetry",
  "ikebana",
  "cuneiform",
  "theremin",
  "falconry",
  "tessellation",
  "permaculture",
  "glassblowing",
  "bookbinding",
  "cryptarithm",
  "hydroponics",
  "letterpress",
  "beekeeping",
  "xylography",
  "sundial",
  "palimpsest",
];

/** The sentence that carries a rare word (`{rare}`). */
export const RARE_SENTENCES: readonly string[] = [
  "Includes a bonus module on {rare}.",
  "A closing project draws on {rare}.",
  "With a guest session about {rare}.",
];

/**
 * Search terms for load tests. Common ones each match at least about one course in a hundred, so the
 * first page fills quickly; rare ones are `RARE_WORDS`.
 */
export const SEARCH_TERMS = {
  common: [
    "python",
    "javascript",
    "data",
    "design",
    "web",
    "marketing",
    "photography",
    "guitar",
    "spanish",
    "machine learning",
    "cooking",
    "sql",
    "excel",
    "grammar",
    "project",
  ],
  rare: RARE_WORDS,
} as const;

export const FIRST_NAMES: readonly string[] = [
  "Ada",
  "Alan",
  "Amara",
  "Anders",
  "Aisha",
  "Bruno",
  "Camila",
  "Chen",
  "Dmitri",
  "Elena",
  "Emeka",
  "Farah",
  "Felix",
  "Grace",
  "Hana",
  "Hugo",
  "Ines",
  "Ivan",
  "Jamal",
  "Julia",
  "Kenji",
  "Lars",
  "Leila",
  "Lucas",
  "Maya",
  "Mateo",
  "Mei",
  "Nadia",
  "Noah",
  "Olga",
  "Omar",
  "Priya",
  "Rafael",
  "Rosa",
  "Samir",
  "Sara",
  "Sofia",
  "Tariq",
  "Tomas",
  "Una",
  "Valentina",
  "Victor",
  "Wei",
  "Yara",
  "Yusuf",
  "Zara",
  "Oscar",
  "Nina",
  "Pablo",
  "Ruth",
];

export const LAST_NAMES: readonly string[] = [
  "Adeyemi",
  "Almeida",
  "Andersen",
  "Bauer",
  "Becker",
  "Castillo",
  "Chowdhury",
  "Costa",
  "Dubois",
  "Eriksson",
  "Fischer",
  "Garcia",
  "Gonzalez",
  "Haddad",
  "Hansen",
  "Ivanova",
  "Jensen",
  "Kaur",
  "Kim",
  "Kowalski",
  "Larsen",
  "Lee",
  "Lopez",
  "Martin",
  "Mendes",
  "Moreau",
  "Nakamura",
  "Nguyen",
  "Novak",
  "Okafor",
  "Olsen",
  "Park",
  "Patel",
  "Petrov",
  "Rossi",
  "Santos",
  "Schmidt",
  "Silva",
  "Singh",
  "Sato",
  "Tanaka",
  "Torres",
  "Varga",
  "Wagner",
  "Wang",
  "Weber",
  "Yilmaz",
  "Zhang",
  "Ortiz",
  "Romano",
];

if (import.meta.main) console.log(JSON.stringify(SEARCH_TERMS, null, 2));
