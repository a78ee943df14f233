import { describe, expect, test } from "bun:test";
import { apiDocs } from "../src/api-docs";

describe("Swagger UI's files", () => {
  const app = apiDocs("test");
  const get = (file: string) => app.handle(new Request(`http://localhost/swagger/ui/${file}`));

  test("the two files are served", async () => {
    for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) expect((await get(file)).status).toBe(200);
  });

  test("any other name is a 404, the names every object inherits too, and no answer shows a file path", async () => {
    for (const name of ["nope", ...Object.getOwnPropertyNames(Object.prototype)]) {
      const answer = await get(name);
      expect(answer.status, name).toBe(404);
      expect(await answer.text(), name).not.toContain("shared/src/api-docs.ts");
    }
  });
});
