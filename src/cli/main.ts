/** The `aunce` command line. Each subcommand lives in its own file under src/cli. */
import { Command } from 'commander';
import { alignCommand } from './align.js';
import { augmentPreviewCommand } from './augment_preview.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { doctorCommand } from './doctor.js';
import { encodeCommand } from './encode.js';
import { labelsCommand } from './labels.js';
import { lossCommand } from './loss.js';
import { reportCommand } from './report.js';
import { synthCommand } from './synth.js';
import { evalCommand, trainCommand } from './train.js';
import { tuneCommand } from './tune.js';

const program = new Command();
program
  .name('aunce')
  .description('WGSL kernels, autograd and the AUNCE contrastive loss on WebGPU')
  .showHelpAfterError()
  .addCommand(doctorCommand())
  .addCommand(encodeCommand())
  .addCommand(lossCommand())
  .addCommand(benchCommand())
  .addCommand(tuneCommand())
  .addCommand(alignCommand())
  .addCommand(augmentPreviewCommand())
  .addCommand(labelsCommand())
  .addCommand(convertCommand())
  .addCommand(synthCommand())
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(reportCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`aunce: ${(err as Error).message}`);
  process.exitCode = 1;
}
