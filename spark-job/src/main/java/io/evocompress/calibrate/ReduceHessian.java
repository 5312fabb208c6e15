package io.evocompress.calibrate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.database.VariantStore;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;

import java.util.ArrayList;
import java.util.List;

/**
 * A Spark task of the calibration pass: combines the shards' partial sums of one (block, input
 * group) in shard-index order and writes the Hessian file. Returns the file's entry
 * ({@link VariantStore.StoredFile}) as JSON.
 */
final class ReduceHessian implements Function<String, String> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String partialRoot;
    private final String hessianDir;
    private final int shards;
    private final boolean float32;

    /** @param float32 store H in float32 (the partial sums and their combination stay float64) */
    ReduceHessian(String partialRoot, String hessianDir, int shards, boolean float32) {
        this.partialRoot = partialRoot;
        this.hessianDir = hessianDir;
        this.shards = shards;
        this.float32 = float32;
    }

    @Override
    public String call(String name) throws JsonProcessingException {
        Path partials = new Path(partialRoot);
        Path dir = new Path(hessianDir);
        FileSystem fs = BuildDbJob.outputFileSystem(dir);
        List<Path> parts = new ArrayList<>();
        for (int i = 0; i < shards; i++) {
            parts.add(CalibrateShard.partialFile(partials, i, name));
        }
        // streamed: one row block of every shard's H at a time, the same bytes as combining whole Hessians
        VariantStore.StoredFile stored = HessianFiles.combine(fs, parts, new Path(dir, name), name, float32);
        return JSON.writeValueAsString(stored);
    }
}
