package dev.loracle.runtime.cuda;

/** Grid and block dimensions plus dynamic shared memory of one launch. */
public record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {
    public LaunchConfig {
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0 || blockX <= 0 || blockY <= 0 || blockZ <= 0) {
            throw new IllegalArgumentException("launch dimensions must be positive: grid " + gridX + "x" + gridY + "x"
                    + gridZ + ", block " + blockX + "x" + blockY + "x" + blockZ);
        }
        if ((long) blockX * blockY * blockZ > 1024) {
            throw new IllegalArgumentException("a block holds at most 1024 threads, got " + blockX * blockY * blockZ);
        }
    }

    public static LaunchConfig linear(int grid, int block) {
        return new LaunchConfig(grid, 1, 1, block, 1, 1, 0);
    }

    public int threadsPerBlock() { return blockX * blockY * blockZ; }
}
