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
     */
    static void apply(Target t, float weight, float[] x, int xOff, float[] y, int yOff, float[] scratch) {
        float c = weight * t.scale;
        int in = t.in, out = t.out;
        for (int j = 0; j < t.rank; j++) {
            int row = j * in;
            FloatVector acc = FloatVector.zero(F);
            int i = 0;
            for (int upper = F.loopBound(in); i < upper; i += L) {
                acc = FloatVector.fromArray(F, t.a, row + i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            float s = 0f;
            for (int lane = 0; lane < L; lane++) s += acc.lane(lane);
            for (; i < in; i++) s += t.a[row + i] * x[xOff + i];
            scratch[j] = s * c;
        }
        int bound = F.loopBound(out);
        for (int j = 0; j < t.rank; j++) {
            float tj = scratch[j];
            int row = j * out;
            FloatVector tv = FloatVector.broadcast(F, tj);
            int o = 0;
            for (; o < bound; o += L) {
                FloatVector.fromArray(F, t.bt, row + o).fma(tv, FloatVector.fromArray(F, y, yOff + o)).intoArray(y, yOff + o);
            }
            for (; o < out; o++) y[yOff + o] += t.bt[row + o] * tj;
        }
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
