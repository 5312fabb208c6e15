package io.evocompress.calibrate;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.calibration.InputGroup;
import io.evocompress.calibration.PartialStatistics;
import io.evocompress.database.VariantStore;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.spark.JobProgress;
import io.evocompress.spark.ShardRange;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The calibration pass of a database build, data-parallel on Spark: stage 1 runs one task per
 * calibration shard (a fixed count from the configuration), each running the dense model block by
 * block over its sequences and writing one partial sum per (block, input group) to
 * {@code hessians/.partial/shard-<i>/}; stage 2 runs one task per (block, input group), which adds
 * the shards' partial sums in shard-index order ({@link io.evocompress.calibration.PartialStatistics#combine})
 * and writes {@code hessians/block-<b>/<group>.bin}. The fixed shard count and summation order make
 * the Hessians bit-identical whatever the cluster. {@code hessians/hessians.json}, written last,
 * records the model and data hashes and every file's SHA-256; a later build with the same model,
 * data and shard count finds it, verifies the files and skips the pass.
 */
public final class HessianJob {
    public static final String DIR = "hessians";
    public static final String INDEX = "hessians.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private HessianJob() {
    }

    /**
     * The record of a finished calibration pass.
     *
     * @param hessianDtype "float32" when the files store H in float32; null (absent) for float64
     */
    public record Index(String modelConfigSha256, String tokenIdsSha256, int shards, List<VariantStore.StoredFile> files,
                        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                        String hessianDtype) {
        /** name (relative to hessians/) -> SHA-256. */
        public Map<String, String> checksums() {
            Map<String, String> out = new LinkedHashMap<>();
            files.forEach(f -> out.put(f.name(), f.sha256()));
            return out;
        }
    }

    /**
     * One input group's Hessian statistics of a database at {@code root}, read in a task and checked
     * against the SHA-256 the driver took from {@link #INDEX}: a mismatch names the file and says to
     * rebuild the Hessians.
     */
    public static PartialStatistics readVerified(FileSystem fs, Path root, int block, InputGroup group,
                                                                    Map<String, String> checksums) {
        String name = fileName(block, group);
        Path file = new Path(new Path(root, DIR), name);
        String expected = checksums.get(name);
        return HessianFiles.read(fs, file, expected == null ? "" : expected, file + " does not match its checksum in "
            + INDEX + ": delete " + new Path(root, DIR) + " and rerun.");
    }

    /** The file of one (block, input group), relative to {@code hessians/}. */
    public static String fileName(int block, InputGroup group) {
        return "block-" + block + "/" + group.name().toLowerCase() + ".bin";
    }

    /** Ensures the Hessians of every block exist under {@code root}/hessians; returns their index. */
    public static Index ensure(JavaSparkContext sc, BuildDbSettings settings, int blocks, List<int[]> sequences,
                               String configSha, String tokenSha, Consumer<String> progress) {
        Path root = HadoopFiles.path(settings.output());
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        Path dir = new Path(root, DIR);
        VariantStore store = new VariantStore(fs, root);
        String dtype = settings.hessianFloat32() ? BuildDbSettings.FLOAT32 : null;
        Index existing = verified(fs, store, dir, configSha, tokenSha, settings.shards(), dtype, progress);
        if (existing != null) {
            progress.accept("Hessians: reusing " + existing.files().size() + " verified files in " + dir);
            return existing;
        }
        String partialRoot = new Path(dir, ".partial").toString();
        Broadcast<int[][]> broadcast = sc.broadcast(sequences.toArray(new int[0][]));
        try {
            List<ShardRange> shards = new ArrayList<>();
            for (int i = 0; i < settings.shards(); i++) {
                shards.add(new ShardRange(i, settings.shards()));
            }
            JobProgress watch = new JobProgress(sc, "calibration (" + sequences.size() + " sequences in "
                + settings.shards() + " shards)", 2000, progress);
            try (watch) {
                sc.parallelize(shards, shards.size())
                    .map(new CalibrateShard(settings.model(), settings.device(), settings.batchSize(), broadcast, partialRoot,
                        settings.residency()))
                    .collect();
            }
        } finally {
            broadcast.destroy();
        }
        List<String> parts = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            for (InputGroup g : InputGroup.values()) {
                parts.add(fileName(b, g));
            }
        }
        List<String> stored;
        JobProgress watch = new JobProgress(sc, "reducing " + parts.size() + " Hessians", 2000, progress);
        try (watch) {
            stored = sc.parallelize(parts, parts.size())
                .map(new ReduceHessian(partialRoot, dir.toString(), settings.shards(), settings.hessianFloat32()))
                .collect();
        }
        List<VariantStore.StoredFile> files = new ArrayList<>();
        try {
            for (String s : stored) {
                files.add(JSON.readValue(s, VariantStore.StoredFile.class));
            }
            Index index = new Index(configSha, tokenSha, settings.shards(), files, dtype);
            store.writeAtomically(new Path(dir, INDEX), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
            fs.delete(new Path(partialRoot), true);
            progress.accept("Hessians: " + files.size() + " files written to " + dir);
            return index;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot record the Hessians in " + dir, e);
        }
    }

    /** The index if it matches the model, data, shards and storage dtype and every file verifies, else null. */
    private static Index verified(FileSystem fs, VariantStore store, Path dir, String configSha, String tokenSha, int shards,
                                  String dtype, Consumer<String> progress) {
        Path file = new Path(dir, INDEX);
        if (!HadoopFiles.exists(fs, file)) {
            return null;
        }
        try {
            Index index = JSON.readValue(store.readAll(file), Index.class);
            if (!index.modelConfigSha256().equals(configSha) || !index.tokenIdsSha256().equals(tokenSha)
                || index.shards() != shards || !java.util.Objects.equals(index.hessianDtype(), dtype)) {
                return null;
            }
            for (VariantStore.StoredFile f : index.files()) {
                Path p = new Path(dir, f.name());
                if (!HadoopFiles.exists(fs, p)) {
                    progress.accept("Hessian file " + p + " is missing: computing the Hessians again");
                    return null;
                }
                VariantStore.StoredFile read = HessianFiles.hash(fs, p, f.name());   // streamed
                if (read.bytes() != f.bytes() || !read.sha256().equals(f.sha256())) {
                    progress.accept("Hessian file " + p + " is corrupt (its SHA-256 differs from " + file
                        + "): computing the Hessians again");
                    return null;
                }
            }
            return index;
        } catch (IOException | EvocompressException e) {
            return null; // unreadable: compute again
        }
    }
}
