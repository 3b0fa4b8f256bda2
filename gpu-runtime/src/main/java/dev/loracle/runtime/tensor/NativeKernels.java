package dev.loracle.runtime.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The optional native int8 kernels ({@code src/main/c/loracle_kernels.c}: byte multiply-adds, AVX2 vpmaddubsw or
 * AVX-VNNI vpdpbusd, which the Vector API cannot express), loaded through FFM from the library the Maven build compiles when gcc is present. They compute
 * the same bits as the Java INT8 kernels (see MatVec's INT8 contract), so using them or not never changes a result;
 * {@code -Dloracle.native.kernels=false} turns them off. Without the library (no gcc at build time, another OS or
 * CPU) {@link #available()} is false and the Java kernels run.
 */
public final class NativeKernels {
    private NativeKernels() {}

    private static final Logger LOG = Logger.getLogger(NativeKernels.class.getName());
    private static final String RESOURCE = "/native/linux-x86_64/libloracle_kernels.so";
    private static MethodHandle selectVnniHandle;
    private static MethodHandle kQuantRows;
    private static boolean vnni;
    private static final MethodHandle INT8_ROWS = load();

    /** Whether the native int8 kernels are loaded and this CPU runs them. */
    public static boolean available() { return INT8_ROWS != null; }

    /** One line for logs and bench output. */
    public static String describe() {
        return available() ? "native int8 kernels (" + (vnni ? "AVX-VNNI" : "AVX2") + ")" : "Java int8 kernels";
    }

    /** Tests check both native variants against Java: selects VNNI (where the CPU has it) or AVX2; returns whether VNNI runs. */
    static synchronized boolean selectVnni(boolean on) {
        if (!available()) return false;
        try {
            vnni = (int) selectVnniHandle.invokeExact(on ? 1 : 0) == 1;
            return vnni;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    private static MethodHandle load() {
        if (!Boolean.parseBoolean(System.getProperty("loracle.native.kernels", "true"))) return null;
        URL url = NativeKernels.class.getResource(RESOURCE);
        if (url == null) return null;
        try {
            Path lib;
            if ("file".equals(url.getProtocol())) {
                lib = Path.of(url.toURI());
            } else { // inside a jar: the loader needs a file
                lib = Files.createTempFile("loracle_kernels", ".so");
                lib.toFile().deleteOnExit();
                try (InputStream in = url.openStream()) {
                    Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Linker linker = Linker.nativeLinker();
            SymbolLookup symbols = SymbolLookup.libraryLookup(lib, Arena.global());
            MethodHandle supported = linker.downcallHandle(symbols.find("loracle_kernels_supported").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            if ((int) supported.invokeExact() != 2) { // KERNELS_ABI: a stale library is not used
                LOG.info("native CPU kernels need AVX2, FMA and F16C; using the Java kernels");
                return null;
            }
            var I = ValueLayout.JAVA_INT;
            var A = ValueLayout.ADDRESS;
            selectVnniHandle = linker.downcallHandle(symbols.find("loracle_kernels_select_vnni").orElseThrow(), FunctionDescriptor.of(I, I));
            vnni = (int) linker.downcallHandle(symbols.find("loracle_kernels_vnni").orElseThrow(), FunctionDescriptor.of(I)).invokeExact() == 1;
            // critical: a short call without upcalls, allowed to read and write heap arrays directly (no copies)
            kQuantRows = linker.downcallHandle(symbols.find("loracle_kquant_rows").orElseThrow(),
                    FunctionDescriptor.ofVoid(I, A, ValueLayout.JAVA_LONG, I, I, I, A, A, A, I, A, I, I),
                    Linker.Option.critical(true));
            return linker.downcallHandle(symbols.find("loracle_int8_rows").orElseThrow(),
                    FunctionDescriptor.ofVoid(I, A, ValueLayout.JAVA_LONG, I, I, I, A, A, A, I, A, I, I),
                    Linker.Option.critical(true));
        } catch (Throwable e) {
            LOG.log(Level.WARNING, "native CPU kernels could not be loaded (" + e + "); using the Java kernels");
            return null;
        }
    }

    /**
     * K-quant weights (Q4_K, Q5_K, Q6_K) times Q8_K activations: {@code y[t*yStride + r + yShift]} for rows [r0, r1)
     * and t &lt; n, with the bits of {@link KQuantDot}. Bounds are checked here: the native side trusts them.
     */
    static void kQuant(QuantizedTensor w, int r0, int r1, Q8KActivation xq, int n, float[] y, int yStride, int yShift) {
        GgmlType type = w.type();
        if (!type.kQuant()) throw new IllegalArgumentException("no K-quant kernel for " + type);
        int cols = checkBounds(w, r0, r1, xq.length(), n, y, yStride, yShift);
        if (r0 == r1) return;
        try {
            kQuantRows.invokeExact(type.id(), w.data(), w.rowBytes(), r0, r1, cols, MemorySegment.ofArray(xq.q),
                    MemorySegment.ofArray(xq.d), MemorySegment.ofArray(xq.bsums), n, MemorySegment.ofArray(y), yStride, yShift);
        } catch (Throwable e) {
            throw new IllegalStateException("native K-quant kernel failed", e);
        }
    }

    /**
     * INT8 mode, Q8_0 or Q4_0 weights: {@code y[t*yStride + r + yShift] = W[r,:] . xq(token t)} for rows [r0, r1) and
     * t < n, with the bits of {@link MatVec#dotQ8_0Int}/{@link MatVec#dotQ4_0Int}. Bounds are checked here: the
     * native side trusts them.
     */
    static void int8(QuantizedTensor w, int r0, int r1, Q8Activation xq, int n, float[] y, int yStride, int yShift) {
        GgmlType type = w.type();
        if (type != GgmlType.Q8_0 && type != GgmlType.Q4_0) throw new IllegalArgumentException("no int8 kernel for " + type);
        int cols = checkBounds(w, r0, r1, xq.length(), n, y, yStride, yShift);
        if (r0 == r1) return;
        try {
            INT8_ROWS.invokeExact(type.id(), w.data(), w.rowBytes(), r0, r1, cols, MemorySegment.ofArray(xq.q),
                    MemorySegment.ofArray(xq.d), MemorySegment.ofArray(xq.sums), n, MemorySegment.ofArray(y), yStride, yShift);
        } catch (Throwable e) {
            throw new IllegalStateException("native int8 kernel failed", e);
        }
    }

    /** The checks the native side relies on (it trusts its arguments); returns the row length. */
    private static int checkBounds(QuantizedTensor w, int r0, int r1, long xLength, int n, float[] y, int yStride, int yShift) {
        int cols = Math.toIntExact(w.cols());
        if (r0 < 0 || r1 > w.rows() || r0 > r1) throw new IndexOutOfBoundsException("rows [" + r0 + ", " + r1 + ") of " + w);
        if (xLength < (long) n * cols) throw new IllegalArgumentException("quantized x holds " + xLength + " values, need " + (long) n * cols);
        if (r0 == r1) return cols;
        long first = (long) r0 + yShift, last = (long) (n - 1) * yStride + r1 - 1 + yShift;
        if (first < 0 || last >= y.length) throw new IndexOutOfBoundsException("y[" + first + ".." + last + "] of " + y.length);
        return cols;
    }
}
