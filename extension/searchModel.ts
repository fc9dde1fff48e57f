// Searching a shared folder without ripgrep (its files are not on disk): which paths a Quick Open
// query or a glob matches, and where a text query matches in a file's text. Pure: no VS Code API, so
// it is unit-tested directly.

/** Whether a Quick Open query matches a path: its characters in order, any case, spaces ignored (empty: every path). */
export function fuzzyMatches(query: string, filePath: string): boolean {
  const wanted = query.replace(/\s+/g, "").toLowerCase();
  const hay = filePath.toLowerCase();
  let at = 0;
  for (const ch of wanted) {
    at = hay.indexOf(ch, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}

/** A glob (`*`, `**`, `?`, `{a,b}`, as VS Code's include and exclude patterns are) as a RegExp over "/"-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      // "**/" matches any number of directories, including none; a trailing "**" anything at all
      const slash = glob[i + 2] === "/";
      re += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "{") {
      const end = glob.indexOf("}", i);
      if (end < 0) re += "\\{";
      else {
        re += `(?:${glob.slice(i + 1, end).split(",").map(escapeRegExp).join("|")})`;
        i = end;
      }
    } else re += escapeRegExp(c);
  }
  // a pattern without a slash matches the name at any depth, as VS Code's search does
  return new RegExp(`^${glob.includes("/") ? "" : "(?:.*/)?"}${re}(?:/.*)?$`);
}

/** Whether a path is kept by include and exclude globs (no include: everything). */
export function pathIncluded(filePath: string, includes: readonly string[], excludes: readonly string[]): boolean {
  if (excludes.some((g) => globToRegExp(g).test(filePath))) return false;
  return includes.length === 0 || includes.some((g) => globToRegExp(g).test(filePath));
}

export interface TextQuery {
  pattern: string;
  isRegExp?: boolean;
  isCaseSensitive?: boolean;
  isWordMatch?: boolean;
}

export interface LineMatch {
  /** 0-based line. */
  line: number;
  /** 0-based columns in that line, end exclusive. */
  start: number;
  end: number;
  /** The line's text (cut to `maxPreview` characters). */
  text: string;
}

/** The query as a global RegExp; throws on an invalid regular expression. */
export function queryRegExp(q: TextQuery): RegExp {
  let source = q.isRegExp ? q.pattern : escapeRegExp(q.pattern);
  if (q.isWordMatch) source = `\\b(?:${source})\\b`;
  return new RegExp(source, q.isCaseSensitive ? "gu" : "giu");
}

/** Every match of `re` (from queryRegExp) in `text`, line by line, at most `max`. */
export function findInText(text: string, re: RegExp, max: number, maxPreview = 250): LineMatch[] {
  const out: LineMatch[] = [];
  const lines = text.split(/\r?\n/);
  for (let line = 0; line < lines.length && out.length < max; line++) {
    re.lastIndex = 0;
    for (let m = re.exec(lines[line]); m && out.length < max; m = re.exec(lines[line])) {
      if (m[0].length === 0) {
        re.lastIndex++; // an empty match would repeat forever
        continue;
      }
      out.push({ line, start: m.index, end: m.index + m[0].length, text: lines[line].slice(0, maxPreview) });
    }
  }
  return out;
}

/** Whether bytes look like text (no NUL in the first 8 KiB, as editors and ripgrep judge it). */
export function looksLikeText(bytes: Uint8Array): boolean {
  return !bytes.subarray(0, 8192).includes(0);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
