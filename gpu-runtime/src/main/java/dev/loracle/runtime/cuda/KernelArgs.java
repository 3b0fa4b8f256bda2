package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.PtxModule.ParamType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The arguments of one kernel launch, in order, with the PTX parameter type each one is packed as. Java int -> .u32,
 * long -> .u64 (long long in CUDA C), float -> .f32, device pointer -> .u64. {@link #checkAgainst} compares them with
 * the parameters parsed from the PTX, so a launcher that drifts from its kernel fails loudly instead of passing garbage.
 */
public final class KernelArgs {
    /** One argument: its PTX type and value (Integer, Long, Float or DevicePtr). */
    public record Arg(ParamType type, Object value) {}

    private final List<Arg> args = new ArrayList<>();

    public KernelArgs ptr(DevicePtr p) {
        args.add(new Arg(ParamType.U64, Objects.requireNonNull(p, "device pointer argument")));
        return this;
    }

    public KernelArgs i32(int v) {
        args.add(new Arg(ParamType.U32, v));
        return this;
    }

    public KernelArgs i64(long v) {
        args.add(new Arg(ParamType.U64, v));
        return this;
    }

    public KernelArgs f32(float v) {
        args.add(new Arg(ParamType.F32, v));
        return this;
    }

    public List<Arg> args() { return Collections.unmodifiableList(args); }

    public List<ParamType> types() { return args.stream().map(Arg::type).toList(); }

    /** Total bytes of the parameter block (what the driver copies into the kernel's .param space, without padding). */
    public int packedBytes() { return args.stream().mapToInt(a -> a.type().bytes()).sum(); }

    /** Throws IllegalArgumentException when the count or a type differs from the kernel's PTX parameters. */
    public void checkAgainst(String kernel, List<ParamType> ptxParams) {
        if (!types().equals(ptxParams)) {
            throw new IllegalArgumentException("kernel " + kernel + " takes " + ptxParams + " but the launcher packs "
                    + types());
        }
    }
}
