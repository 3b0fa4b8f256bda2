package dev.loracle.oracle.journal;

/** Who asked for the work: a contract on-chain (InferenceRequested event) or a client of the completions API. */
public enum RequestOrigin { CHAIN, API }
