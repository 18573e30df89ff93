/** The `aunce` command line. Each subcommand lives in its own file under src/cli. */
import { Command } from 'commander';
import { benchCommand } from './bench.js';
import { doctorCommand } from './doctor.js';
import { tuneCommand } from './tune.js';

const program = new Command();
program
  .name('aunce')
  .description('WGSL kernels, autograd and the AUNCE contrastive loss on WebGPU')
  .showHelpAfterError()
  .addCommand(doctorCommand())
  .addCommand(benchCommand())
  .addCommand(tuneCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`aunce: ${(err as Error).message}`);
  process.exitCode = 1;
}
