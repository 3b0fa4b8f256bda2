package dev.loracle.runtime.engine;

/** MERGED: copy-on-write working copies of the touched tensors. UNMERGED: low-rank terms added at run time. */
public enum AttachMode { MERGED, UNMERGED }
