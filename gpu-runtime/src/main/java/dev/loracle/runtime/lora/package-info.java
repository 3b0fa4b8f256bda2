/**
 * LoRA adapters: PEFT directories ({@link dev.loracle.runtime.lora.PeftAdapterFile} parses any architecture,
 * {@link dev.loracle.runtime.lora.PeftAdapter#load} maps onto Llama projections), the model-facing form
 * ({@link dev.loracle.runtime.lora.LoraAdapter}, {@link dev.loracle.runtime.lora.LoraTarget}: F32, [out x in]
 * orientation) and the arithmetic ({@link dev.loracle.runtime.lora.LoraMath}: exact composite merge, unmerged path).
 */
package dev.loracle.runtime.lora;
