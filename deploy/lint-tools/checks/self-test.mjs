// Proves that the checks can fail: each known-bad fixture must be rejected with the expected findings.
import path from 'node:path';
import { Report } from './report.mjs';
import { checkDockerfile } from './dockerfile.mjs';
import { checkCompose } from './compose.mjs';
import { checkDashboard } from './dashboard.mjs';

const EXPECTED = {
  dockerfile: ['not pinned', 'ARG GITHUB_TOKEN', 'ENV DB_PASSWORD', 'ADD is not allowed', 'missing-file.txt', 'exec (JSON) form',
    'non-root USER', 'no HEALTHCHECK', '--add-modules', 'no bad.Dockerfile.dockerignore'],
  compose: ['postgres:latest is not pinned', 'POSTGRES_PASSWORD', 'published on all interfaces', 'has no healthcheck',
    'unknown service cache', 'undeclared_secret', 'undeclared-volume', 'schema:'],
  dashboard: ['"datasource" template variable', 'datasource must be ${datasource}', 'unbalanced parentheses', 'loracle_made_up_metric_total'],
};

function expectFindings(report, what, run, expected) {
  const probe = new Report();
  run(probe);
  for (const text of expected) {
    if (!probe.errors.some((e) => e.includes(text))) report.error(`self-test ${what}`, `the checker did not report "${text}"`);
  }
}

export function runSelfTest(report, fixtures, root) {
  expectFindings(report, 'Dockerfile', (r) => checkDockerfile(r, 'bad.Dockerfile', path.join(fixtures, 'bad.Dockerfile'), root), EXPECTED.dockerfile);
  expectFindings(report, 'compose', (r) => checkCompose(r, 'bad-compose.yml', path.join(fixtures, 'bad-compose.yml'), { allowedProfiles: [] }), EXPECTED.compose);
  expectFindings(report, 'dashboard', (r) => checkDashboard(r, 'bad-dashboard.json', path.join(fixtures, 'bad-dashboard.json'), new Set(['up'])), EXPECTED.dashboard);
}
