import { join } from "node:path";

/**
 * The repository's root, as the scripts find it. Its own module, so that what runs in the tools
 * image (the seed, Locust's input: deploy/k8s/base/jobs) never loads the lab's stack and its
 * embedded PostgreSQL, a development dependency the image does not install.
 */
export const ROOT = join(import.meta.dir, "../..");
