package dev.loracle.runtime.engine;

import java.util.Set;

/**
 * What an attachment changes on a backend: MERGED working copies that replace base tensors in the forward pass, or
 * UNMERGED low-rank operands added after the base matmul. The base tensors themselves are never written.
 * Created by {@link Backend#mergeInto} / {@link Backend#lowRank}; freed by {@link Backend#release}.
 */
public interface WeightOverlay {
    AttachMode mode();
    Set<TensorId> tensors();
    /** Bytes held until release (working copies, or adapter operands), as reserved in the backend's budget. */
    long bytes();
    boolean released();
}
