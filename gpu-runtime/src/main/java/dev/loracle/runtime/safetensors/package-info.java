/**
 * Strict reading and writing of safetensors files (the weights format of PEFT adapters). The parser treats every
 * file as hostile: bounded header size, tensor count, rank and JSON nesting; overflow-checked shapes; exact,
 * contiguous coverage of the data section. Tensor data is never copied: it is read from the memory mapping.
 * {@link dev.loracle.runtime.safetensors.BoundedJsonReader} is Jackson configured for untrusted headers and configs.
 */
package dev.loracle.runtime.safetensors;
