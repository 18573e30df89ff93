export * from './shape.js';
export * from './tensor.js';
export * from './tape.js';
