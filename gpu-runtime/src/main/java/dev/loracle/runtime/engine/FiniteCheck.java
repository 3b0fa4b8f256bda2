package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.AdapterValidationException;
import dev.loracle.runtime.lora.LoraTarget;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Rejects adapters with a non-finite scale or matrix element, naming the culprit. */
final class FiniteCheck {
    private FiniteCheck() {}

    static void requireFinite(String adapterId, LoraTarget t) {
        if (!Float.isFinite(t.scale())) throw new AdapterValidationException("adapter " + adapterId + ": " + t.describe() + " has scale " + t.scale());
        check(adapterId, t, t.a(), "A");
        check(adapterId, t, t.b(), "B");
    }

    /**
     * Fast pass: x - x is 0 for a finite x and NaN otherwise, so the sum of the differences is 0 exactly when every
     * value is finite (the scalar scan then only runs to name the culprit).
     */
    private static boolean allFinite(MemorySegment m, long n) {
        if (!(m.isNative() || m.heapBase().orElse(null) instanceof byte[])) return false;
        var species = FloatVector.SPECIES_PREFERRED;
        var acc = FloatVector.zero(species);
        long i = 0;
        for (long upper = n - n % species.length(); i < upper; i += species.length()) {
            var v = FloatVector.fromMemorySegment(species, m, i * 4, java.nio.ByteOrder.LITTLE_ENDIAN);
            acc = acc.add(v.sub(v));
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float f = m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            sum += f - f;
        }
        return sum == 0f;
    }

    private static void check(String adapterId, LoraTarget t, MemorySegment m, String which) {
        long n = m.byteSize() / 4;
        if (allFinite(m, n)) return;
        for (long i = 0; i < n; i++) {
            float f = m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (!Float.isFinite(f)) {
                throw new AdapterValidationException("adapter " + adapterId + ": " + t.describe() + " matrix " + which
                        + " has a non-finite value (" + f + ") at element " + i);
            }
        }
    }
}
