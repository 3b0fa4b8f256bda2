package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.Reservation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * An adapter resident on the CPU: per target, A [rank x in] and B transposed [rank x out] as heap floats (so both
 * products stream rows), with its scale. {@link #apply} adds {@code c * B (A x)} to one row.
 */
final class CpuDeviceAdapter implements DeviceAdapter {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int L = F.length();

    private final LoraAdapter adapter;
    private final Target[][] targets; // [layer][kind], null where the adapter has no delta
    private final Reservation reservation;
    private volatile boolean closed;

    record Target(int rank, int in, int out, float scale, float[] a, float[] bt) {
        /** A copied as is, B transposed. */
        static Target of(LoraTarget t) {
            float[] b = t.b().toArray(LoraTarget.F32);
            float[] bt = new float[t.rank() * t.out()];
            for (int o = 0; o < t.out(); o++) {
                for (int j = 0; j < t.rank(); j++) bt[j * t.out() + o] = b[o * t.rank() + j];
            }
            return new Target(t.rank(), t.in(), t.out(), t.scale(), t.a().toArray(LoraTarget.F32), bt);
        }
    }

    CpuDeviceAdapter(LoraAdapter adapter, int layers, Reservation reservation) {
        this.adapter = adapter;
        this.reservation = reservation;
        this.targets = new Target[layers][ProjectionKind.values().length];
        for (LoraTarget t : adapter.targets()) targets[t.layer()][t.kind().ordinal()] = Target.of(t);
    }

    /** Bytes of the resident copy: A and B of every target, F32. */
    static long residentBytes(LoraAdapter adapter) { return adapter.bytes(); }

    Target target(int layer, ProjectionKind kind) {
        if (closed) throw new IllegalStateException("adapter " + adapter.id() + " was released");
        return targets[layer][kind.ordinal()];
    }

    /**
     * {@code y[yOff..yOff+out) += (weight * scale) * B (A x[xOff..xOff+in))}: t_j = A_j . x (8-lane accumulation,
     * lanes summed in order), scaled, then y += t_j * B^T_j for j ascending. The same arithmetic for every row.
     * Four ranks share each load of x (four independent accumulators), and each 8-wide slice of y stays in a register
     * across all ranks: every element still sees exactly the same operations in the same order.
     */
    static void apply(Target t, float weight, float[] x, int xOff, float[] y, int yOff, float[] scratch) {
        float c = weight * t.scale;
        int in = t.in, out = t.out, rank = t.rank;
        float[] a = t.a, bt = t.bt;
        int inBound = F.loopBound(in);
        int j = 0;
        for (; j + 4 <= rank; j += 4) {
            int r0 = j * in, r1 = r0 + in, r2 = r1 + in, r3 = r2 + in;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < inBound; i += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
                s0 = FloatVector.fromArray(F, a, r0 + i).fma(xv, s0);
                s1 = FloatVector.fromArray(F, a, r1 + i).fma(xv, s1);
                s2 = FloatVector.fromArray(F, a, r2 + i).fma(xv, s2);
                s3 = FloatVector.fromArray(F, a, r3 + i).fma(xv, s3);
            }
            scratch[j] = finishDot(s0, a, r0, x, xOff, inBound, in) * c;
            scratch[j + 1] = finishDot(s1, a, r1, x, xOff, inBound, in) * c;
            scratch[j + 2] = finishDot(s2, a, r2, x, xOff, inBound, in) * c;
            scratch[j + 3] = finishDot(s3, a, r3, x, xOff, inBound, in) * c;
        }
        for (; j < rank; j++) {
            int row = j * in;
            FloatVector acc = FloatVector.zero(F);
            for (int i = 0; i < inBound; i += L) acc = FloatVector.fromArray(F, a, row + i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            scratch[j] = finishDot(acc, a, row, x, xOff, inBound, in) * c;
        }
        int bound = F.loopBound(out);
        for (int o = 0; o < bound; o += L) {
            FloatVector yv = FloatVector.fromArray(F, y, yOff + o);
            for (int k = 0, row = o; k < rank; k++, row += out) yv = FloatVector.fromArray(F, bt, row).fma(FloatVector.broadcast(F, scratch[k]), yv);
            yv.intoArray(y, yOff + o);
        }
        for (int o = bound; o < out; o++) {
            float v = y[yOff + o];
            for (int k = 0; k < rank; k++) v += bt[k * out + o] * scratch[k];
            y[yOff + o] = v;
        }
    }

    /** The lanes of {@code acc} summed in order, then the scalar tail from {@code from}. */
    private static float finishDot(FloatVector acc, float[] a, int row, float[] x, int xOff, int from, int in) {
        float s = 0f;
        for (int lane = 0; lane < L; lane++) s += acc.lane(lane);
        for (int i = from; i < in; i++) s += a[row + i] * x[xOff + i];
        return s;
    }

    @Override public LoraAdapter adapter() { return adapter; }
    @Override public long bytes() { return reservation.bytes(); }
    @Override public boolean closed() { return closed; }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        reservation.close();
    }
}
