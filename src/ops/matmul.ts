// placeholder: filled in by the op's author
export {};
