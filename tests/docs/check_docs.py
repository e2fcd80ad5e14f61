#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks the user documents: their links and the multichap command lines they show.

usage: check_docs.py links [--root DIR] [FILE...]
       check_docs.py commands --cli PATH [--root DIR] [FILE...]

Without FILE: README.md, docs/*.md, integrations/*/README.md and examples/**/README*.md under
--root (default: the repository this script is in).

links     Every relative link ([text](path), [text](path#anchor), ![alt](path), [label]: path)
          outside code resolves to a file or directory inside the repository, and every #anchor
          to a heading of the target Markdown file, by GitHub's rules (lower case, spaces to '-',
          punctuation dropped, -1, -2... for repeated headings). Links with a scheme (https:,
          mailto:) are not followed.
commands  Every multichap command line shown: in fenced shell blocks (``` , sh, bash, console),
          the lines after a `$ ` prompt, or every line of a block without prompts, with `\\`
          continuations joined, split at `&&`, `||`, `|`, `;` and `&`; and every inline code span
          that starts with `multichap ` or `build/bin/multichap ` (a synopsis: [ ] ( ) and `|`
          between options are read as in the help texts). Each one is parsed by the real CLI:
          its arguments (without --help) followed by two unknown sentinel options must fail
          with "unknown option" naming the first sentinel, so every argument before it was
          accepted by that command's parser (the CLI reports the first unexpected argument, in
          order, before it checks values or runs anything). For commands with actions (store,
          token), the action must be one its --help lists. Placeholder commands (COMMAND) are
          taken as any command.

Exit status: 0 when everything passes, 1 with one line per problem (FILE:LINE: ...), 2 for a
usage error.
"""
import os
import re
import subprocess
import sys
import urllib.parse

SENTINEL = "--zz-docs-check-sentinel"
SENTINEL2 = "--zz-docs-check-sentinel-2"
SHELL_LANGS = {"", "sh", "bash", "shell", "console", "shell-session", "sh-session"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
WRAPPERS = {"sudo", "env", "exec", "time", "nohup", "command"}


def default_files(root):
    files = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    for top, pattern in (("integrations", r"^README\.md$"), ("examples", r"^README.*\.md$")):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            files += sorted(os.path.join(dirpath, f) for f in filenames if re.match(pattern, f))
    return [f for f in files if os.path.isfile(f)]


class Markdown:
    """A Markdown file split into fenced code blocks and the text outside them."""

    FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")

    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().split("\n")
        self.blocks = []  # (first line number of the content, language, [lines])
        text = []  # the lines outside code blocks ("" in place of code, so numbers stay)
        fence = None
        for number, line in enumerate(self.lines, 1):
            m = self.FENCE.match(line)
            if fence is None:
                if m:
                    fence = (m.group(1)[0], len(m.group(1)))
                    self.blocks.append((number + 1, m.group(2).lower(), []))
                    text.append("")
                else:
                    text.append(line)
            else:
                closes = m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1]
                if closes and not m.group(2):
                    fence = None
                else:
                    self.blocks[-1][2].append(line)
                text.append("")
        self.text = "\n".join(text)

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1

    def code_spans(self):
        """(line, content) of every inline code span outside code blocks (within a paragraph)."""
        pattern = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
        return [(self.line_of(m.start()), m.group(2)) for m in pattern.finditer(self.text)]

    def text_without_code_spans(self):
        pattern = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
        return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), self.text)

    def headings(self):
        return [m.group(1) for m in re.finditer(r"(?m)^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", self.text)]


# ---- links ---------------------------------------------------------------------------------


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(md):
    seen = {}
    result = set()
    for heading in md.headings():
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else "%s-%d" % (base, n))
    return result


def check_links(files, root):
    problems = []
    cache = {}
    link = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
    definition = re.compile(r"(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
    root = os.path.realpath(root)
    count = 0
    for path in files:
        md = cache.setdefault(os.path.realpath(path), Markdown(path))
        text = md.text_without_code_spans()
        targets = [(m.start(), m.group(1)) for m in link.finditer(text)]
        targets += [(m.start(), m.group(1)) for m in definition.finditer(text)]
        for offset, target in sorted(targets):
            where = "%s:%d" % (os.path.relpath(path, root), md.line_of(offset))
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith("//"):
                continue  # https:, mailto: ...
            count += 1
            ref, _, anchor = target.partition("#")
            ref = urllib.parse.unquote(ref)
            if not ref:
                dest = os.path.realpath(path)
            elif ref.startswith("/"):
                dest = os.path.realpath(os.path.join(root, ref.lstrip("/")))
            else:
                dest = os.path.realpath(os.path.join(os.path.dirname(path), ref))
            if dest != root and not dest.startswith(root + os.sep):
                problems.append("%s: link '%s' leaves the repository" % (where, target))
                continue
            if not os.path.exists(dest):
                problems.append("%s: link '%s': %s does not exist"
                                % (where, target, os.path.relpath(dest, root)))
                continue
            if not anchor:
                continue
            if dest.endswith(".md") and os.path.isfile(dest):
                md_dest = cache.setdefault(dest, Markdown(dest))
                if anchor not in anchors(md_dest):
                    problems.append("%s: link '%s': no heading '#%s' in %s"
                                    % (where, target, anchor, os.path.relpath(dest, root)))
            elif not re.fullmatch(r"L\d+(-L\d+)?", anchor):
                problems.append("%s: link '%s': an anchor into a file that is not Markdown"
                                % (where, target))
    return count, problems


# ---- commands ------------------------------------------------------------------------------


def tokenize(line, synopsis):
    """Shell-like words of one line, split into simple commands (lists of words).

    Quotes are removed, $(...) and ${...} kept whole, a # starting a word ends the line, and
    redirections end a command's words. In a synopsis `|` is not a pipe and the brackets and
    parentheses of [optional] and (alternative) parts are dropped."""
    commands, words, word, quote, depth = [], [], "", None, 0
    in_word = False
    i = 0
    separators = ("&&", "||", ";", "&") if synopsis else ("&&", "||", "|", ";", "&")

    def end_word():
        nonlocal word, in_word
        if in_word:
            words.append(word)
        word, in_word = "", False

    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"' and i + 1 < len(line):
                i += 1
                word += line[i]
            else:
                word += c
        elif depth:
            word += c
            if c in "({":
                depth += 1
            elif c in ")}":
                depth -= 1
        elif c in "'\"":
            quote, in_word = c, True
        elif c == "$" and i + 1 < len(line) and line[i + 1] in "({":
            word += c + line[i + 1]
            depth, in_word = 1, True
            i += 1
        elif c == "\\" and i + 1 < len(line):
            i += 1
            word += line[i]
            in_word = True
        elif c.isspace():
            end_word()
        elif c == "#" and not in_word:
            break
        else:
            sep = next((s for s in separators if line.startswith(s, i)), None)
            if sep:
                end_word()
                commands.append(words)
                words = []
                i += len(sep)
                continue
            word += c
            in_word = True
        i += 1
    end_word()
    commands.append(words)
    result = []
    for words in commands:
        kept = []
        for w in words:
            if re.match(r"^(\d*[<>]|&>)", w):
                break  # a redirection: the rest is not the command's
            if synopsis:
                w = w.strip("[]()")
                if w in ("", "|") or w.startswith("...") or re.fullmatch(r"MULTICHAP_\w+", w):
                    continue  # an elision, or the environment as the alternative to an option
                if w.startswith("-") and "|" in w:
                    kept += [alt for alt in w.split("|") if alt]
                    continue
            kept.append(w)
        if kept:
            result.append(kept)
    return result


def multichap_words(words):
    """The arguments after `multichap` when the simple command runs multichap, else None."""
    i = 0
    while i < len(words) and (ENV_ASSIGNMENT.match(words[i]) or words[i] in WRAPPERS):
        i += 1
    if i < len(words) and os.path.basename(words[i].lstrip("(")) == "multichap":
        return words[i + 1:]
    return None


def shown_commands(md):
    """(line, synopsis?, arguments) of every multichap command the file shows."""
    found = []
    for first, lang, lines in md.blocks:
        if lang not in SHELL_LANGS:
            continue
        prompted = any(re.match(r"^\s*\$ ", l) for l in lines)
        joined = []  # (line number, text) with continuations joined
        pending, start = None, 0
        for number, line in enumerate(lines, first):
            if pending is None:
                m = re.match(r"^\s*\$ (.*)$", line)
                if prompted and not m:
                    continue
                pending, start = (m.group(1) if m else line), number
            else:
                pending += " " + line.strip()
            if pending.endswith("\\"):
                pending = pending[:-1]
            else:
                joined.append((start, pending))
                pending = None
        if pending is not None:
            joined.append((start, pending))
        for number, text in joined:
            for words in tokenize(text.strip(), synopsis=False):
                args = multichap_words(words)
                if args is not None and not (args and args[0].endswith(":")):  # not output
                    found.append((number, False, args))
    for number, span in md.code_spans():
        span = span.replace("\n", " ").strip()
        if not re.match(r"^(\./)?(build/bin/)?multichap\s", span):
            continue
        for words in tokenize(span.replace("\\|", "|"), synopsis=True):
            args = multichap_words(words)
            if args is not None:
                found.append((number, True, args))
    return found


class Cli:
    def __init__(self, path):
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MULTICHAP_")}
        self.env["LC_ALL"] = "C"
        self.help_texts = {}
        top = self.run(["--help"])
        if top.returncode != 0:
            raise SystemExit("check_docs.py: '%s --help' failed: %s" % (path, top.stderr))
        section = re.search(r"(?ms)^commands:\n(.*?)(?:\n\s*\n|\Z)", top.stdout)
        listed = section.group(1) if section else ""
        self.commands = re.findall(r"(?m)^  ([a-z][a-z0-9-]*)  ", listed)
        if not self.commands:
            raise SystemExit("check_docs.py: '%s --help' lists no commands" % path)

    def run(self, args):
        return subprocess.run([self.path] + args, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=self.env, timeout=20)

    def actions(self, command):
        """The actions a command takes as its first argument (store, token), or None."""
        if command not in self.help_texts:
            self.help_texts[command] = self.run([command, "--help"]).stdout
        text = self.help_texts[command]
        firsts = re.findall(r"(?m)multichap %s ([A-Za-z][\w-]*)" % re.escape(command), text)
        if not firsts:
            return None
        actions = {w for w in firsts if w.islower()}
        section = re.search(r"(?ms)^actions:\n(.*?)(?:\n\s*\n|\Z)", text)
        for line in (section.group(1).split("\n") if section else []):
            if re.match(r"^  [a-z]", line):
                left = re.split(r"\s{2,}", line.strip())[0]
                actions |= {item.split()[0] for item in left.split(", ") if item}
        return actions


def placeholder(word):
    return bool(re.fullmatch(r"[A-Z][A-Z0-9_:.,\[\]-]*|<[^>]*>|\$\{?\w+\}?|\"?\$.*", word))


def check_command(cli, args, synopsis):
    """None when the CLI accepts args, else why not. In a synopsis (an inline code span) an
    option may be named without its value, as prose does."""
    args = [a for a in args if a not in ("--help", "-h")]
    if not args:
        return None
    command = args[0]
    if placeholder(command):
        rest = [a for a in args[1:] if a.startswith("-")]
        return "options %s with a placeholder command" % rest if rest else None
    if not command.startswith("-"):
        if command not in cli.commands:
            return "unknown command '%s' (the CLI has: %s)" % (command, ", ".join(cli.commands))
        actions = cli.actions(command)
        if actions is not None:
            positional = [a for a in args[1:] if not a.startswith("-")]
            if positional and not placeholder(positional[0]) and positional[0] not in actions:
                return "'%s' is not an action of multichap %s (%s)" % (
                    positional[0], command, ", ".join(sorted(actions)))
    result = cli.run(args + [SENTINEL, SENTINEL2])
    said = (result.stderr + result.stdout).strip().split("\n")[0]
    if result.returncode == 2 and said == "multichap: unknown option " + SENTINEL:
        return None
    if said == "multichap: unknown option " + SENTINEL2:
        return None if synopsis else "its last option takes a value that is not shown"
    return "the CLI refuses it: %s (exit %d)" % (said, result.returncode)


def check_commands(files, root, cli_path):
    cli = Cli(cli_path)
    problems, count, verdicts = [], 0, {}
    for path in files:
        md = Markdown(path)
        for number, synopsis, args in shown_commands(md):
            count += 1
            key = (synopsis,) + tuple(args)
            if key not in verdicts:
                verdicts[key] = check_command(cli, args, synopsis)
            if verdicts[key]:
                problems.append("%s:%d: multichap %s: %s" % (
                    os.path.relpath(path, root), number, " ".join(args), verdicts[key]))
    return count, problems


def main(argv):
    if len(argv) < 2 or argv[1] not in ("links", "commands"):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    mode, rest = argv[1], argv[2:]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cli, files = None, []
    while rest:
        arg = rest.pop(0)
        if arg in ("--root", "--cli") and rest:
            value = rest.pop(0)
            if arg == "--root":
                root = os.path.abspath(value)
            else:
                cli = value
        elif arg.startswith("-"):
            sys.stderr.write("check_docs.py: unknown option %s\n" % arg)
            return 2
        else:
            files.append(os.path.abspath(arg))
    files = files or default_files(root)
    if mode == "links":
        count, problems = check_links(files, root)
        what = "relative links"
    else:
        if not cli:
            sys.stderr.write("check_docs.py: commands needs --cli PATH\n")
            return 2
        count, problems = check_commands(files, root, cli)
        what = "multichap command lines"
    for p in problems:
        print(p)
    print("%d %s in %d files: %d problem(s)" % (count, what, len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
