package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.BatchKernels.Weights;
import dev.loracle.runtime.cuda.ResidentWeights.Layer;
import dev.loracle.runtime.cuda.ResidentWeights.Slot;
import dev.loracle.runtime.cuda.StepInput.Operand;
import dev.loracle.runtime.cuda.StepInput.Segment;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.ModelConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one step ({@link StepInput}) of the Llama forward pass on the device with the batched kernels: every weight is
 * read once per step for all rows; each row's numbers depend only on the row (batch invariance: the kernels reduce each
 * output element in a fixed order whatever the number of rows, and the merged / low-rank fix-ups touch only their
 * segment's rows). The step's metadata (tokens, positions, block tables, low-rank segment tables) goes to the device
 * in ONE copy; activations live in buffers grown only when a step needs more rows than any before (no allocation on
 * the steady token path). Not thread-safe: the backend serialises steps.
 */
final class StepExecutor implements AutoCloseable {
    static final String OWNER = "activations";
    /** Rows of logits computed per classifier pass (bounds the logits scratch). */
    static final int LOGIT_ROWS = 64;

    private final DeviceRuntime device;
    private final DeviceMemoryPool pool;
    private final BatchKernels k;
    private final StepLauncher launcher;
    private final StepGraphs graphs;
    private final ResidentWeights w;
    private final ModelConfig c;
    private final int qkvRows, maxChunks;
    private int capacity, rankCapacity;
    private long metaCapacity;
    private DeviceBuffer x, xb, qkv, att, gu, h, t, partial, lx, logits, meta;

    StepExecutor(DeviceRuntime device, DeviceMemoryPool pool, KernelLauncher launcher, ResidentWeights w) {
        this.device = device;
        this.pool = pool;
        this.launcher = new StepLauncher(launcher);
        this.k = new BatchKernels(this.launcher);
        this.graphs = StepGraphs.forLauncher(device, launcher);
        this.w = w;
        this.c = w.cfg;
        this.qkvRows = c.qDim() + 2 * c.kvDim();
        this.maxChunks = BatchKernels.chunks(c.contextLength());
    }

    /** CUDA graph use so far (for logs and the bench), or "graphs off". */
    String graphStats() { return graphs == null ? "graphs off" : graphs.stats(); }

    /** Runs the step; returns the logits of the rows that want them, [logitRows x vocab] in row order (null: none). */
    float[] run(StepInput s, KvCacheType kvType) {
        int n = s.size();
        Meta m = Meta.build(s, c);
        ensure(n, m.maxRankSum, m.bytes.byteSize());
        device.upload(m.bytes, meta.ptr());
        DevicePtr base = meta.ptr();
        DevicePtr tokens = base.offset(m.tokensOff), pos = base.offset(m.posOff), slots = base.offset(m.slotsOff);
        DevicePtr tables = base.offset(m.tablesOff);
        int dim = c.dim(), hidden = c.hiddenDim(), hd = c.headSize(), qDim = c.qDim(), kvDim = c.kvDim();
        float eps = c.rmsEps();
        long layerBytes = DeviceKvLayout.of(kvType, c).layerBytes();
        // the whole step as one recorded sequence -> one graph launch, when its logits fit one classifier pass
        boolean graph = graphs != null && m.logitRows <= LOGIT_ROWS;
        launcher.record(graph);

        k.embed(w.embedding, tokens, x.ptr(), n);
        for (int l = 0; l < c.nLayers(); l++) {
            Layer L = w.layers.get(l);
            k.rmsnormRows(xb.ptr(), x.ptr(), L.attnNorm(), dim, eps, n, 1, dim);
            // q, k, v: one launch over the fused rows, then per-segment fix-ups into their column ranges
            if (L.qkv() != null) {
                k.mm(L.qkv(), xb.ptr(), qkv.ptr(), n, qkvRows, false);
            } else {
                for (ProjectionKind kind : List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V)) {
                    k.mm(L.slot(kind).weights(), xb.ptr(), qkv.ptr().offset(4L * column(kind)), n, qkvRows, false);
                }
            }
            for (ProjectionKind kind : List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V)) {
                fixups(s, m, l, kind, xb.ptr(), dim, qkv.ptr().offset(4L * column(kind)), qkvRows);
            }
            if (L.qkvBias() != null) k.addBiasRows(qkv.ptr(), L.qkvBias(), qkvRows, qkvRows, n);
            if (L.qNorm() != null) k.rmsnormRows(qkv.ptr(), qkv.ptr(), L.qNorm(), hd, eps, n * c.nHeads(), c.nHeads(), qkvRows);
            if (L.kNorm() != null) {
                k.rmsnormRows(qkv.ptr().offset(4L * qDim), qkv.ptr().offset(4L * qDim), L.kNorm(), hd, eps,
                        n * c.nKvHeads(), c.nKvHeads(), qkvRows);
            }
            long layerOff = l * layerBytes;
            k.ropeKvStore(kvType, qkv.ptr(), qkvRows, c.nHeads(), c.nKvHeads(), hd, w.ropeCos, w.ropeSin,
                    c.ropeStyle() == ModelConfig.RopeStyle.NEOX, tables, m.maxBlocks, layerOff, slots, pos, n);
            k.attention(kvType, partial.ptr(), qkv.ptr(), qkvRows, tables, m.maxBlocks, layerOff, kvDim, c.nKvHeads(),
                    slots, pos, c.nHeads(), hd, n, maxChunks);
            k.attentionCombine(att.ptr(), qDim, partial.ptr(), pos, maxChunks, c.nHeads(), hd, n);
            project(s, m, l, ProjectionKind.O, att.ptr(), qDim, xb.ptr(), dim);
            k.add(x.ptr(), xb.ptr(), n * dim);
            k.rmsnormRows(xb.ptr(), x.ptr(), L.ffnNorm(), dim, eps, n, 1, dim);
            if (L.gateUp() != null && !m.touches(l, ProjectionKind.GATE) && !m.touches(l, ProjectionKind.UP)) {
                k.mmSwiglu(L.gateUp(), xb.ptr(), h.ptr(), n);   // same numbers as the unfused path below, one launch
            } else {
                project(s, m, l, ProjectionKind.GATE, xb.ptr(), dim, gu.ptr(), 2 * hidden);
                project(s, m, l, ProjectionKind.UP, xb.ptr(), dim, gu.ptr().offset(4L * hidden), 2 * hidden);
                k.swigluRows(h.ptr(), gu.ptr(), hidden, n);
            }
            project(s, m, l, ProjectionKind.DOWN, h.ptr(), hidden, xb.ptr(), dim);
            k.add(x.ptr(), xb.ptr(), n * dim);
        }
        int vocab = c.vocabSize();
        if (graph) {
            if (m.logitRows > 0) logitsPass(base, m, 0, m.logitRows);
            launcher.record(false);
            graphs.run(launcher.recorded());
        }
        if (m.logitRows == 0) {
            device.synchronize();   // nothing to read back, but the step's buffers must be settled before the next call
            return null;
        }
        float[] out = new float[m.logitRows * vocab];
        MemorySegment host = MemorySegment.ofArray(out);
        if (graph) {
            device.download(logits.ptr(), host);
            return out;
        }
        for (int r0 = 0; r0 < m.logitRows; r0 += LOGIT_ROWS) {
            int rows = Math.min(LOGIT_ROWS, m.logitRows - r0);
            logitsPass(base, m, r0, rows);
            device.download(logits.ptr(), host.asSlice(4L * r0 * vocab, 4L * rows * vocab));
        }
        return out;
    }

    /** Final norm and classifier for logit rows [r0, r0 + rows) (gathered by index from x). */
    private void logitsPass(DevicePtr base, Meta m, int r0, int rows) {
        int dim = c.dim();
        k.gatherRows(lx.ptr(), x.ptr(), base.offset(m.logitIdxOff + 4L * r0), dim, rows);
        k.rmsnormRows(lx.ptr(), lx.ptr(), w.outputNorm, dim, c.rmsEps(), rows, 1, dim);
        k.mm(w.classifier, lx.ptr(), logits.ptr(), rows, c.vocabSize(), false);
    }

    private int column(ProjectionKind kind) {
        return switch (kind) {
            case Q -> 0;
            case K -> c.qDim();
            case V -> c.qDim() + c.kvDim();
            default -> throw new IllegalArgumentException(kind.toString());
        };
    }

    /** y = W x for all rows (base), then each segment's merged rows and low-rank deltas. */
    private void project(StepInput s, Meta m, int l, ProjectionKind kind, DevicePtr in, int cols, DevicePtr y, int yStride) {
        Slot slot = w.layers.get(l).slot(kind);
        k.mm(slot.weights(), in, y, s.size(), yStride, false);
        fixups(s, m, l, kind, in, cols, y, yStride);
    }

    private void fixups(StepInput s, Meta m, int l, ProjectionKind kind, DevicePtr in, int cols, DevicePtr y, int yStride) {
        for (Segment seg : s.segments()) {
            if (seg.merged() == null) continue;
            Weights copy = seg.merged().weight(l, kind);
            if (copy == null) continue;
            int rows = seg.end() - seg.start();
            k.mm(copy, in.offset(4L * seg.start() * cols), y.offset(4L * seg.start() * yStride), rows, yStride, false);
        }
        Meta.LoraTable lt = m.lora(l, kind);
        if (lt == null) return;
        DevicePtr base = meta.ptr();
        int out = w.layers.get(l).slot(kind).rows();
        k.loraShrink(t.ptr(), m.maxRankSum, in, cols, base.offset(lt.segOff()), base.offset(lt.ptrOff()),
                base.offset(lt.infoOff()), lt.maxRankSum(), lt.nSeg());
        k.loraExpand(y, yStride, t.ptr(), m.maxRankSum, out, base.offset(lt.segOff()), base.offset(lt.ptrOff()),
                base.offset(lt.infoOff()), base.offset(lt.coefOff()), lt.nSeg());
    }

    /** Grows the scratch to {@code rows} rows (and rank / metadata room); a step within the capacity allocates nothing. */
    private void ensure(int rows, int rankSum, long metaBytes) {
        if (rows > capacity) {
            int cap = Math.max(rows, Math.max(16, capacity * 2));
            freeRows();
            int dim = c.dim(), hidden = c.hiddenDim();
            x = alloc(4L * cap * dim);
            xb = alloc(4L * cap * dim);
            qkv = alloc(4L * cap * qkvRows);
            att = alloc(4L * cap * c.qDim());
            gu = alloc(4L * cap * 2 * hidden);
            h = alloc(4L * cap * hidden);
            partial = alloc(4L * cap * c.nHeads() * maxChunks * (c.headSize() + 2));
            if (lx == null) {
                lx = alloc(4L * LOGIT_ROWS * dim);
                logits = alloc(4L * LOGIT_ROWS * c.vocabSize());
            }
            capacity = cap;
            if (t != null) { t.close(); t = null; rankCapacity = 0; }
        }
        if (t == null || rankSum > rankCapacity) {
            if (t != null) t.close();
            rankCapacity = Math.max(rankSum, Math.max(64, rankCapacity));
            t = alloc(4L * capacity * rankCapacity);
        }
        if (meta == null || metaBytes > metaCapacity) {
            if (meta != null) meta.close();
            metaCapacity = Math.max(metaBytes, Math.max(64 << 10, 2 * metaCapacity));
            meta = alloc(metaCapacity);
        }
    }

    /**
     * Activations live as long as the base and are accounted with it (BASE_WEIGHTS, owner "activations"): the figure
     * an idle engine returns to is the whole resident set, as cuMemGetInfo sees it. They grow (rarely, doubling) only
     * when a step has more rows than any before.
     */
    private DeviceBuffer alloc(long bytes) {
        return pool.allocate(MemoryCategory.BASE_WEIGHTS, bytes, OWNER);
    }

    private void freeRows() {
        for (DeviceBuffer b : new DeviceBuffer[] {x, xb, qkv, att, gu, h, partial}) if (b != null) b.close();
    }

    @Override
    public void close() {
        if (graphs != null) graphs.close();
        freeRows();
        for (DeviceBuffer b : new DeviceBuffer[] {t, lx, logits, meta}) if (b != null) b.close();
        x = xb = qkv = att = gu = h = partial = t = lx = logits = meta = null;
        capacity = rankCapacity = 0;
        metaCapacity = 0;
    }

    /** The step's metadata in one host buffer (8-byte aligned parts), uploaded with one copy. */
    static final class Meta {
        record LoraTable(int nSeg, int maxRankSum, long segOff, long ptrOff, long infoOff, long coefOff) {}

        MemorySegment bytes;
        long tokensOff, posOff, slotsOff, tablesOff, logitIdxOff;
        int maxBlocks, logitRows, maxRankSum = 1;
        private LoraTable[][] lora;

        LoraTable lora(int layer, ProjectionKind kind) { return lora[layer][kind.ordinal()]; }

        boolean touches(int layer, ProjectionKind kind) {
            return lora[layer][kind.ordinal()] != null || merged[layer][kind.ordinal()];
        }

        private boolean[][] merged;

        static Meta build(StepInput s, ModelConfig c) {
            Meta m = new Meta();
            int n = s.size(), kinds = ProjectionKind.values().length;
            m.lora = new LoraTable[c.nLayers()][kinds];
            m.merged = new boolean[c.nLayers()][kinds];
            // table stride = the whole context's blocks, so the kernels' arguments do not change as sequences grow
            m.maxBlocks = (c.contextLength() + 15) / 16;
            for (long[] t : s.blockAddresses()) m.maxBlocks = Math.max(m.maxBlocks, t.length);
            for (boolean b : s.wantLogits()) if (b) m.logitRows++;
            Writer wr = new Writer();
            m.tokensOff = wr.ints(s.tokens());
            m.posOff = wr.ints(s.positions());
            m.slotsOff = wr.ints(s.slots());
            long[] tables = new long[s.blockAddresses().length * m.maxBlocks];
            for (int i = 0; i < s.blockAddresses().length; i++) {
                System.arraycopy(s.blockAddresses()[i], 0, tables, i * m.maxBlocks, s.blockAddresses()[i].length);
            }
            m.tablesOff = wr.longs(tables);
            int[] idx = new int[m.logitRows];
            for (int t = 0, j = 0; t < n; t++) if (s.wantLogits()[t]) idx[j++] = t;
            m.logitIdxOff = wr.ints(idx);
            for (int l = 0; l < c.nLayers(); l++) {
                for (ProjectionKind kind : ProjectionKind.values()) {
                    List<int[]> segs = new ArrayList<>();
                    List<Operand> ops = new ArrayList<>();
                    int maxRank = 0;
                    for (Segment seg : s.segments()) {
                        if (seg.merged() != null && seg.merged().weight(l, kind) != null) m.merged[l][kind.ordinal()] = true;
                        if (seg.lowRank() == null) continue;
                        List<Operand> mine = seg.lowRank().operands(l, kind);
                        if (mine.isEmpty()) continue;
                        int first = ops.size(), sum = 0;
                        for (Operand o : mine) sum += o.rank();
                        ops.addAll(mine);
                        segs.add(new int[] {seg.start(), seg.end(), first, ops.size()});
                        maxRank = Math.max(maxRank, sum);
                    }
                    if (segs.isEmpty()) continue;
                    int[] seg = new int[4 * segs.size()];
                    for (int i = 0; i < segs.size(); i++) System.arraycopy(segs.get(i), 0, seg, 4 * i, 4);
                    long[] ptr = new long[2 * ops.size()];
                    int[] info = new int[2 * ops.size()];
                    float[] coef = new float[ops.size()];
                    for (int[] sg : segs) {
                        int off = 0;
                        for (int i = sg[2]; i < sg[3]; i++) {
                            Operand o = ops.get(i);
                            ptr[2 * i] = o.a().address();
                            ptr[2 * i + 1] = o.bt().address();
                            info[2 * i] = o.rank();
                            info[2 * i + 1] = off;
                            coef[i] = o.coef();
                            off += o.rank();
                        }
                    }
                    m.maxRankSum = Math.max(m.maxRankSum, maxRank);
                    m.lora[l][kind.ordinal()] = new LoraTable(segs.size(), maxRank, wr.ints(seg), wr.longs(ptr),
                            wr.ints(info), wr.floats(coef));
                }
            }
            m.bytes = wr.done();
            return m;
        }
    }

    /** Appends arrays to a growing little-endian buffer, each part 8-byte aligned; returns their offsets. */
    static final class Writer {
        private MemorySegment buf = MemorySegment.ofArray(new long[1024]);
        private long size;

        private long reserve(long bytes) {
            long off = (size + 7) & ~7L;
            if (off + bytes > buf.byteSize()) {
                MemorySegment bigger = MemorySegment.ofArray(new long[(int) Math.max(buf.byteSize() / 4, (off + bytes) / 4)]);
                MemorySegment.copy(buf, 0, bigger, 0, size);
                buf = bigger;
            }
            size = off + bytes;
            return off;
        }

        long ints(int[] a) {
            long off = reserve(4L * Math.max(1, a.length));
            MemorySegment.copy(a, 0, buf, ValueLayout.JAVA_INT_UNALIGNED, off, a.length);
            return off;
        }

        long longs(long[] a) {
            long off = reserve(8L * Math.max(1, a.length));
            MemorySegment.copy(a, 0, buf, ValueLayout.JAVA_LONG_UNALIGNED, off, a.length);
            return off;
        }

        long floats(float[] a) {
            long off = reserve(4L * Math.max(1, a.length));
            MemorySegment.copy(a, 0, buf, ValueLayout.JAVA_FLOAT_UNALIGNED, off, a.length);
            return off;
        }

        MemorySegment done() { return buf.asSlice(0, Math.max(8, (size + 7) & ~7L)); }
    }
}
