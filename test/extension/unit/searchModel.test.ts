import { test } from "node:test";
import assert from "node:assert/strict";
import { findInText, fuzzyMatches, globToRegExp, looksLikeText, pathIncluded, queryRegExp } from "../../../extension/searchModel";

test("Quick Open queries match paths by their characters in order, any case", () => {
  assert.ok(fuzzyMatches("rdme", "docs/README.md"));
  assert.ok(fuzzyMatches("docs/api v1", "docs/api/v1.json"));
  assert.ok(fuzzyMatches("", "anything"));
  assert.ok(!fuzzyMatches("xyz", "docs/README.md"));
  assert.ok(!fuzzyMatches("dmr", "README.md"), "order matters");
});

test("globs as VS Code's include and exclude patterns use them", () => {
  assert.ok(globToRegExp("**/node_modules").test("a/node_modules/x.js"));
  assert.ok(globToRegExp("**/node_modules").test("node_modules/x.js"));
  assert.ok(globToRegExp("*.md").test("docs/a.md"), "no slash: any depth");
  assert.ok(!globToRegExp("docs/*.md").test("docs/api/a.md"));
  assert.ok(globToRegExp("docs/**/*.md").test("docs/api/a.md"));
  assert.ok(globToRegExp("src/{a,b}.ts").test("src/b.ts"));
  assert.ok(!globToRegExp("src/{a,b}.ts").test("src/c.ts"));
  assert.ok(globToRegExp("file?.txt").test("file1.txt"));
  assert.ok(pathIncluded("docs/a.md", ["**/*.md"], []));
  assert.ok(!pathIncluded("node_modules/a.md", ["**/*.md"], ["**/node_modules"]));
  assert.ok(pathIncluded("x.bin", [], []));
});

test("text matches line by line, with literal, word, case and regular-expression queries", () => {
  const text = "alpha Beta\r\nbeta-gamma betamax\nno match here\n";
  const lit = findInText(text, queryRegExp({ pattern: "beta" }), 10);
  assert.deepEqual(lit.map((m) => [m.line, m.start, m.end]), [[0, 6, 10], [1, 0, 4], [1, 11, 15]]);
  assert.equal(lit[0].text, "alpha Beta");
  assert.equal(findInText(text, queryRegExp({ pattern: "beta", isCaseSensitive: true }), 10).length, 2);
  assert.equal(findInText(text, queryRegExp({ pattern: "beta", isWordMatch: true }), 10).length, 2);
  assert.deepEqual(findInText(text, queryRegExp({ pattern: "g[a-z]+a", isRegExp: true }), 10).map((m) => m.line), [1]);
  assert.equal(findInText(text, queryRegExp({ pattern: "a.b" }), 10).length, 0, "a literal dot");
  assert.equal(findInText(text, queryRegExp({ pattern: "beta" }), 2).length, 2, "at most max");
  assert.equal(findInText("xyz", queryRegExp({ pattern: "q*", isRegExp: true }), 10).length, 0, "empty matches are skipped, not looped on");
  assert.ok(looksLikeText(Buffer.from("plain text")));
  assert.ok(!looksLikeText(Buffer.from([1, 0, 2])));
});
