package io.evocompress.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.SyntheticCheckpoint;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Tiny random Llama checkpoints for training tests (grouped-query attention, untied head). */
final class TinyModels {
    static final int VOCAB = 40;

    private TinyModels() {
    }

    static String configJson() {
        return SyntheticCheckpoint.configJson(16, 2, 4, 2, 24, VOCAB, 32, false);
    }

    /** Writes the tiny checkpoint under {@code dir} and returns its location. */
    static Path write(java.nio.file.Path dir, long seed) {
        Path out = HadoopFiles.path(dir.resolve("tiny-" + seed).toString());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        SyntheticCheckpoint.write(fs, out, configJson(), seed, DType.F32, 1, true);
        return out;
    }

    static CausalLm load(Path dir) {
        try (CheckpointReader reader = CheckpointReader.open(dir, HadoopFiles.defaultConf())) {
            return ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32);
        }
    }

    static List<int[]> randomBatch(int batch, int len, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] s = new int[len];
            for (int i = 0; i < len; i++) {
                s[i] = r.nextInt(vocab);
            }
            out.add(s);
        }
        return out;
    }

    /** Every weight's values, by name. */
    static Map<String, float[]> snapshot(CausalLm model) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        model.parameters().forEach((name, p) -> out.put(name, p.toFloatArray()));
        return out;
    }
}
