// Mocha's dot reporter plus one closing line in the plain form CI tools read:
// "mocha: N passed, N failed, N skipped".
'use strict';
const Mocha = require('mocha');

class DotWithSummary extends Mocha.reporters.Dot {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = this.stats;
      process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

module.exports = DotWithSummary;
