/** @jsxImportSource @kitajs/html */

import { escapeHtml } from "@kitajs/html";
import type { AuthUser } from "@lab/shared";
import { webLinks } from "@lab/shared/ui";
import type { Assets } from "./assets";

export type LayoutProps = {
  title: string;
  /** The page's `<meta name="description">`: one or two sentences on what this page offers (search results show it). */
  description: string;
  user: AuthUser | null;
  assets: Assets;
  /** Unread notifications of the signed-in user; null when unknown (the notification service did not answer). */
  unread?: number | null;
  /** The current path, to mark the active link. */
  path?: string;
  children?: JSX.Element;
};

const ROLE_STYLE: Record<AuthUser["role"], string> = {
  student: "bg-sky-100 text-sky-800",
  teacher: "bg-violet-100 text-violet-800",
  admin: "bg-slate-800 text-white",
};

export const RoleBadge = ({ user }: { user: AuthUser }) => {
  const pending = user.role === "teacher" && !user.is_verified;
  return (
    <span class={`role-badge ${ROLE_STYLE[user.role]}`} data-role={user.role} safe>
      {pending ? "teacher · unverified" : user.role}
    </span>
  );
};

/** The unread count next to "Notifications"; swapped out-of-band when a notification is marked read. */
export const UnreadBadge = ({ count, oob = false }: { count: number | null | undefined; oob?: boolean }) => (
  <span id="unread-badge" hx-swap-oob={oob ? "true" : undefined}>
    {count ? (
      <span class="badge">
        {String(count)}
        <span class="sr-only"> unread</span>
      </span>
    ) : (
      ""
    )}
  </span>
);

const NavLink = ({ href, path, children }: { href: string; path?: string; children: JSX.Element }) => (
  <a
    href={href}
    class="rounded-md px-2 py-1 text-sm font-medium text-slate-700 hover:bg-slate-100 hover:text-slate-900 hover:no-underline aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-800"
    aria-current={path === href ? "page" : undefined}
  >
    {children}
  </a>
);

/** The links of the roadmap's header: what each role can do, and who is signed in. */
export const Header = ({ user, unread, path }: Pick<LayoutProps, "user" | "unread" | "path">) => (
  <header class="border-b border-slate-200 bg-white">
    <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
      <a href={webLinks.catalog()} class="mr-auto text-lg font-bold tracking-tight text-slate-900 hover:no-underline">
        Coursework Lab
      </a>
      <nav aria-label="Main" class="flex flex-wrap items-center gap-1">
        <NavLink href={webLinks.catalog()} path={path}>
          Catalog
        </NavLink>
        {user?.role === "student" && (
          <NavLink href={webLinks.myCourses()} path={path}>
            My courses
          </NavLink>
        )}
        {user?.role === "teacher" && (
          <NavLink href={webLinks.newCourse()} path={path}>
            New course
          </NavLink>
        )}
        {user && (
          <NavLink href={webLinks.notifications()} path={path}>
            <span class="inline-flex items-center gap-1">
              Notifications <UnreadBadge count={unread} />
            </span>
          </NavLink>
        )}
        <NavLink href={webLinks.lab()} path={path}>
          Lab
        </NavLink>
      </nav>
      <div class="flex items-center gap-2">
        {user ? (
          <>
            <span class="text-sm text-slate-700" data-testid="user-name" safe>
              {user.name}
            </span>
            <RoleBadge user={user} />
            <form method="post" action={webLinks.logout()}>
              <button type="submit" class="button-secondary px-3 py-1">
                Log out
              </button>
            </form>
          </>
        ) : (
          <>
            <a href={webLinks.login()} class="button-secondary px-3 py-1">
              Log in
            </a>
            <a href={webLinks.register()} class="button px-3 py-1">
              Register
            </a>
          </>
        )}
      </div>
    </div>
  </header>
);

/** Every page's shell: head with the local CSS and htmx, header, main content. */
export const Layout = ({ title, description, user, assets, unread, path, children }: LayoutProps) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title safe>{`${title} · Coursework Lab`}</title>
      {/* the attribute escapes only quotes: a course title's `<` and `&` are escaped here */}
      <meta name="description" content={escapeHtml(description)} />
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={assets.css.path} />
      <script src={assets.htmx.path} defer></script>
    </head>
    <body class="min-h-screen">
      <a
        href="#main"
        class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:bg-white focus:p-2"
      >
        Skip to content
      </a>
      <Header user={user} unread={unread} path={path} />
      <main id="main" class="mx-auto flex max-w-5xl flex-col gap-6 px-4 py-6 sm:py-8">
        {children}
      </main>
    </body>
  </html>
);
