/** Option parsers shared by the commands: errors name the option and the value given. */
import { InvalidArgumentError } from 'commander';

/** A whole number >= min. */
export function intArg(name: string, min: number) {
  return (s: string): number => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got '${s}'`);
    return v;
  };
}
