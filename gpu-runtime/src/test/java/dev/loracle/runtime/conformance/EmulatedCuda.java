package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.CudaBackend;
import dev.loracle.runtime.cuda.DevicePtr;
import dev.loracle.runtime.cuda.DeviceRuntime;
import dev.loracle.runtime.cuda.KernelArgs;
import dev.loracle.runtime.cuda.KernelLauncher;
import dev.loracle.runtime.cuda.LaunchConfig;
import dev.loracle.runtime.cuda.PtxModule;
import dev.loracle.runtime.memory.MemoryBudget;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * HOST EMULATION of the CUDA kernels (no GPU): src/main/cuda/*.cu compiled with g++ against a small shim
 * (src/test/cuda-emu) that runs every CUDA thread of a block as a cooperative fiber. It lets this machine check the
 * kernels' arithmetic, indexing, reductions and the CUDA model's orchestration; it says nothing about the driver,
 * the PTX JIT, memory coalescing or speed. Device memory is plain malloc'd host memory.
 */
public final class EmulatedCuda {
    private EmulatedCuda() {}

    private static final Path SRC = Path.of("src/test/cuda-emu");
    private static final Path CUDA = Path.of("src/main/cuda");
    private static final Path LIB = Path.of("target/cuda-emu/libloracle_cuda_emu.so");
    private static volatile Object loaded;   // MethodHandle or String (why not)

    /** Null when the emulation library is built and loaded, else why not (no g++, compile error...). */
    public static synchronized String unavailableReason() {
        if (loaded == null) loaded = build();
        return loaded instanceof String s ? s : null;
    }

    /** The CUDA backend's code on this emulation (check {@link #unavailableReason()} first). */
    public static CudaBackend backend(MemoryBudget budget) {
        return CudaBackend.onRuntime(new Device(), new Launcher(), budget, "host emulation of the CUDA kernels (no GPU)");
    }

    private static Object build() {
        if (!"amd64".equals(System.getProperty("os.arch")) || !System.getProperty("os.name").startsWith("Linux")) {
            return "the kernel emulation's fiber switch is written for Linux x86-64 (this is "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + ")";
        }
        try {
            if (stale()) {
                Files.createDirectories(LIB.getParent());
                Process p = new ProcessBuilder("g++", "-std=c++20", "-O2", "-ffp-contract=off", "-fPIC", "-shared",
                        "-I", SRC.toString(), SRC.resolve("emu_runtime.cpp").toString(), "-o", LIB.toString())
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    return "the kernel emulation did not compile with g++:\n" + out;
                }
            }
            SymbolLookup lib = SymbolLookup.libraryLookup(LIB.toAbsolutePath(), Arena.global());
            Linker linker = Linker.nativeLinker();
            MethodHandle launch = linker.downcallHandle(lib.find("emu_launch").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            return launch;
        } catch (IOException e) {
            return "g++ is not available to build the kernel emulation (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while building the kernel emulation";
        }
    }

    private static boolean stale() throws IOException {
        if (!Files.exists(LIB)) return true;
        FileTime built = Files.getLastModifiedTime(LIB);
        try (Stream<Path> a = Files.list(SRC); Stream<Path> b = Files.list(CUDA)) {
            return Stream.concat(a, b).anyMatch(p -> {
                try {
                    return Files.getLastModifiedTime(p).compareTo(built) > 0;
                } catch (IOException e) {
                    return true;
                }
            });
        }
    }

    /** Launches by entry name, checking the packed arguments against the PTX signature like PtxModules does. */
    static final class Launcher implements KernelLauncher {
        private final Map<String, List<PtxModule.ParamType>> params = new HashMap<>();
        private final Set<String> checked = ConcurrentHashMap.newKeySet();

        Launcher() {
            for (PtxModule m : PtxModule.loadAll()) params.putAll(m.entries());
        }

        @Override
        public void launch(String kernel, LaunchConfig c, KernelArgs args) {
            List<PtxModule.ParamType> want = params.get(kernel);
            if (want == null) throw new IllegalArgumentException("no kernel named " + kernel + " in the PTX");
            if (checked.add(kernel)) args.checkAgainst(kernel, want);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(Math.max(8, args.packedBytes()));
                long off = 0;
                for (KernelArgs.Arg a : args.args()) {
                    switch (a.value()) {
                        case DevicePtr p -> buf.set(ValueLayout.JAVA_LONG_UNALIGNED, off, ((HostPtr) p).address());
                        case Integer v -> buf.set(ValueLayout.JAVA_INT_UNALIGNED, off, v);
                        case Long v -> buf.set(ValueLayout.JAVA_LONG_UNALIGNED, off, v);
                        case Float v -> buf.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off, v);
                        default -> throw new IllegalArgumentException("cannot pack " + a.value());
                    }
                    off += a.type().bytes();
                }
                int rc = (int) ((MethodHandle) loaded).invokeExact(arena.allocateFrom(kernel), c.gridX(), c.gridY(),
                        c.gridZ(), c.blockX(), c.blockY(), c.blockZ(), buf);
                if (rc != 0) throw new IllegalStateException("emulated launch of " + kernel + " failed: "
                        + (rc == 1 ? "unknown kernel" : "deadlock: a barrier that some threads never reach"));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }

    record HostPtr(long address) implements DevicePtr {
        @Override public DevicePtr offset(long bytes) { return new HostPtr(address + bytes); }
    }

    /**
     * "Device" memory in the host heap (malloc/free through FFM). memGetInfo reports a fixed 8 GiB minus what is
     * allocated here: bookkeeping of this emulation, not a driver figure.
     */
    static final class Device implements DeviceRuntime {
        private static final long CAPACITY = 8L << 30;
        private static final MethodHandle MALLOC, FREE;

        static {
            Linker l = Linker.nativeLinker();
            MALLOC = l.downcallHandle(l.defaultLookup().find("malloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            FREE = l.downcallHandle(l.defaultLookup().find("free").orElseThrow(),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        }

        private final Map<Long, Long> sizes = new ConcurrentHashMap<>();

        @Override public String label() { return "cuda-emu:0"; }

        @Override public void makeCurrent() {}

        @Override
        public DevicePtr allocate(long bytes) {
            try {
                MemorySegment p = (MemorySegment) MALLOC.invokeExact(bytes);
                if (p.address() == 0) throw new IllegalStateException("malloc of " + bytes + " bytes failed");
                sizes.put(p.address(), bytes);
                return new HostPtr(p.address());
            } catch (RuntimeException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public void free(DevicePtr ptr) {
            long a = ((HostPtr) ptr).address();
            if (sizes.remove(a) == null) throw new IllegalStateException("free of unknown or already freed address " + a);
            try {
                FREE.invokeExact(MemorySegment.ofAddress(a));
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public long[] memGetInfo() {
            long used = sizes.values().stream().mapToLong(Long::longValue).sum();
            return new long[] {CAPACITY - used, CAPACITY};
        }

        long outstandingAllocations() { return sizes.size(); }

        private static MemorySegment at(DevicePtr p, long bytes) {
            return MemorySegment.ofAddress(((HostPtr) p).address()).reinterpret(bytes);
        }

        @Override public void upload(MemorySegment src, DevicePtr dst) { MemorySegment.copy(src, 0, at(dst, src.byteSize()), 0, src.byteSize()); }

        @Override
        public void downloadFloats(DevicePtr src, float[] dst, int n) {
            MemorySegment.copy(at(src, 4L * n), ValueLayout.JAVA_FLOAT, 0, dst, 0, n);
        }

        @Override public int downloadInt(DevicePtr src) { return at(src, 4).get(ValueLayout.JAVA_INT, 0); }

        @Override public void download(DevicePtr src, MemorySegment dst) { MemorySegment.copy(at(src, dst.byteSize()), 0, dst, 0, dst.byteSize()); }

        @Override public void memsetZero(DevicePtr dst, long bytes) { at(dst, bytes).fill((byte) 0); }

        @Override public void synchronize() {}

        @Override public void close() {}
    }
}
