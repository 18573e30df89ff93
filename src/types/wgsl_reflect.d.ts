// The package's "main" is a CommonJS build that Node loads as ESM (its package.json says
// "type": "module"), so we import the ES module build by path and point it at the package's types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
