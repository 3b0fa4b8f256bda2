/**
 * Accounted memory per device: the resident base, adapters, working copies, KV caches and scratch against a red line
 * ({@link dev.loracle.runtime.memory.MemoryBudget}).
 */
package dev.loracle.runtime.memory;
