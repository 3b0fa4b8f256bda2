// Dockerfile policy, hadolint-style, on the parsed Dockerfile (dockerfile-ast) plus dockerfile-utils' own validator:
// pinned base images, non-root runtime user, HEALTHCHECK, exec-form ENTRYPOINT with the JVM flags the runtime needs,
// no ADD (no remote URLs), no secret-looking ENV/ARG, COPY sources present in the build context and not ignored.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { looksSecret } from './secret-names.mjs';

const REQUIRED_JVM_FLAGS = ['--add-modules=jdk.incubator.vector', '--enable-native-access=ALL-UNNAMED'];

// Docker's .dockerignore semantics, enough for this repo: Go-style globs with **, last matching rule wins,
// a rule that matches a directory applies to everything below it.
export function dockerignoreMatcher(text) {
  const rules = text.split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      return { negate, regex: globToRegex(pattern) };
    });
  return (file) => {
    const parts = file.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) {
      if (prefixes.some((p) => rule.regex.test(p))) ignored = !rule.negate;
    }
    return ignored;
  };
}

function globToRegex(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function resolveArgs(text, defaults) {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name) => (name in defaults ? defaults[name] : m));
}

function isPinned(image) {
  if (image.includes('@sha256:')) return true;
  const lastSegment = image.split('/').pop();
  const tag = lastSegment.includes(':') ? lastSegment.split(':').pop() : '';
  return tag !== '' && tag !== 'latest' && /\d/.test(tag);
}

// file: the Dockerfile; context: the build context directory (repo root).
export function checkDockerfile(report, name, file, context) {
  const text = readFileSync(file, 'utf8');
  for (const d of validate(text)) {
    report.error(`${name}:${d.range.start.line + 1}`, `${d.message} (dockerfile-utils code ${d.code})`);
  }
  const dockerfile = DockerfileParser.parse(text);
  const ignoreFile = `${file}.dockerignore`;
  let ignored = () => false;
  if (!existsSync(ignoreFile)) report.error(name, `no ${path.basename(ignoreFile)} next to it (build context would include node_modules, target, .git)`);
  else {
    const ignoreText = readFileSync(ignoreFile, 'utf8');
    ignored = dockerignoreMatcher(ignoreText);
    for (const must of ['.git', '.env', 'contracts/node_modules/x', 'oracle-service/target/x', 'models/x']) {
      if (!ignored(must)) report.error(path.basename(ignoreFile), `does not exclude ${must}`);
    }
  }

  const argDefaults = {};
  const stages = [];
  let stage = null;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line + 1;
    const args = instruction.getArgumentsContent() ?? '';
    const where = `${name}:${line}`;
    if (keyword === 'ARG') {
      const [argName, ...rest] = args.split('=');
      if (looksSecret(argName)) report.error(where, `ARG ${argName} looks like a secret: build args end up in the image history`);
      if (!stage && rest.length) argDefaults[argName.trim()] = rest.join('=').trim();
      continue;
    }
    if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const image = resolveArgs(words[0], argDefaults);
      const alias = words[2];
      const isStageRef = stages.some((s) => s.alias === image);
      if (!isStageRef && !isPinned(image)) report.error(where, `base image ${image} is not pinned (use a version tag or @sha256 digest, never latest)`);
      stage = { alias, image, line, user: null, healthcheck: false, entrypoint: null };
      stages.push(stage);
      continue;
    }
    if (!stage) continue;
    if (keyword === 'ADD') report.error(where, 'ADD is not allowed: COPY local files; download nothing at build time from URLs');
    if (keyword === 'ENV') {
      for (const property of instruction.getProperties()) {
        if (looksSecret(property.getName())) report.error(where, `ENV ${property.getName()} looks like a secret: pass secrets as mounted files`);
      }
    }
    if (keyword === 'USER') stage.user = args.trim();
    if (keyword === 'HEALTHCHECK') stage.healthcheck = !/^NONE\b/i.test(args.trim());
    if (keyword === 'ENTRYPOINT' || keyword === 'CMD') {
      if (!args.trim().startsWith('[')) report.error(where, `${keyword} must use the exec (JSON) form so that signals reach the JVM`);
      if (keyword === 'ENTRYPOINT') stage.entrypoint = args;
    }
    if (keyword === 'COPY') {
      // dockerfile-ast keeps flags (--from, --chmod) out of the arguments.
      if (instruction.getFlags().some((f) => f.getName() === 'from')) continue;
      const sources = args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        if (source === '.') continue;
        if (!existsSync(path.join(context, source))) report.error(where, `COPY source ${source} does not exist in the build context`);
        else if (ignored(source)) report.error(where, `COPY source ${source} is excluded by the .dockerignore`);
      }
    }
  }

  const runtimeStages = stages.filter((s) => s.entrypoint);
  if (runtimeStages.length === 0) report.error(name, 'no stage with an ENTRYPOINT');
  if (stages.length && !stages[stages.length - 1].entrypoint) report.error(name, 'the last stage (default target) is not a runtime stage');
  for (const s of runtimeStages) {
    const where = `${name}:${s.line} (stage ${s.alias ?? s.image})`;
    if (!s.user || /^(root|0)(:|$)/.test(s.user)) report.error(where, 'runtime stage must switch to a non-root USER');
    if (!s.healthcheck) report.error(where, 'runtime stage has no HEALTHCHECK');
    for (const flag of REQUIRED_JVM_FLAGS) {
      if (!s.entrypoint.includes(flag)) report.error(where, `ENTRYPOINT lacks ${flag} (the runtime needs it)`);
    }
  }
  return stages;
}
