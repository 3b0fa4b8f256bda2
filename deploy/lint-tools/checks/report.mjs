// Collects findings of one lint run; every check reports through it so that the run ends with one verdict.
export class Report {
  constructor() {
    this.errors = [];
    this.passed = 0;
  }

  error(where, message) {
    this.errors.push(`${where}: ${message}`);
  }

  ok(what) {
    this.passed += 1;
    console.log(`ok   ${what}`);
  }

  // Runs one named check; an exception inside it is a failure of that check, not a crash of the linter.
  check(what, fn) {
    const before = this.errors.length;
    try {
      fn();
    } catch (e) {
      this.error(what, `checker crashed: ${e.stack || e}`);
    }
    if (this.errors.length === before) this.ok(what);
    else for (const e of this.errors.slice(before)) console.log(`FAIL ${e}`);
  }
}
