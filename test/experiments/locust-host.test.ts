import { expect } from "bun:test";
import { findTool } from "../../scripts/experiments/run/tools";
import { ROOT } from "../../scripts/lib/stack";
import { needs } from "../tools";

const { test } = needs(["locust"]);

/**
 * locustfile.py's services_on, run by the Python that runs Locust: the Host given to Locust (-H or the
 * web UI's field) names the machine, and each service keeps its own port.
 */
async function servicesOn(hosts: (string | null)[]) {
  const locust = findTool("locust");
  if (!locust) throw new Error("locust is not installed: apt-get install python3-locust");
  const python = (await Bun.file(locust).text()).split("\n")[0]!.replace(/^#!/, "").trim();
  const script = `import json, sys; sys.path.insert(0, ${JSON.stringify(ROOT)}); from load.scenarios import services_on
print(json.dumps([services_on(host) for host in json.loads(sys.argv[1])]))`;
  const child = Bun.spawnSync([...python.split(" "), "-c", script, JSON.stringify(hosts)], {
    cwd: ROOT,
    env: {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: "1",
      IDENTITY_URL: "http://127.0.0.1:18001",
      COURSE_URL: "http://127.0.0.1:18002/",
      ENROLLMENT_URL: "http://127.0.0.1:18003",
      PAYMENT_URL: "http://127.0.0.1:18004",
      NOTIFICATION_URL: "http://127.0.0.1:18005",
    },
  });
  if (child.exitCode !== 0) throw new Error(child.stderr.toString());
  return JSON.parse(child.stdout.toString()) as Record<string, string>[];
}

test("Locust's Host moves every service to that machine, each on its own port; the default moves nothing", async () => {
  const configured = {
    identity: "http://127.0.0.1:18001",
    course: "http://127.0.0.1:18002",
    enrollment: "http://127.0.0.1:18003",
    payment: "http://127.0.0.1:18004",
    notification: "http://127.0.0.1:18005",
  };
  const [none, course, machine, withPort, bare] = await servicesOn([
    null,
    "http://127.0.0.1:18002",
    "https://lab.example.org",
    "http://10.0.0.7:9999/",
    "10.0.0.8",
  ]);
  expect(none).toEqual(configured);
  expect(course).toEqual(configured);
  expect(machine).toMatchObject({
    identity: "https://lab.example.org:18001",
    notification: "https://lab.example.org:18005",
  });
  expect(withPort).toMatchObject({ course: "http://10.0.0.7:18002", payment: "http://10.0.0.7:18004" });
  expect(bare).toMatchObject({ enrollment: "http://10.0.0.8:18003" });
});
