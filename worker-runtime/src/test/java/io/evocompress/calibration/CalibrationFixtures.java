package io.evocompress.calibration;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.List;

/**
 * Real models and real calibration text for calibration and compressor tests: calibration windows
 * sampled from tinystories_train_head.txt with a fixed seed, held-out sequences cut from the
 * separate tinystories_sample.txt.
 */
public final class CalibrationFixtures {
    public static final int BOS = 1;
    public static final long SEED = 20240611L;

    private CalibrationFixtures() {
    }

    public static CausalLm load(java.nio.file.Path modelDir) {
        try (CheckpointReader checkpoint = CheckpointReader.open(modelDir.toString())) {
            return ModelLoader.load(checkpoint, Device.cpu(), DataType.FLOAT32);
        }
    }

    /** {@code count} windows of {@code seqLen} tokens sampled from the TinyStories train head. */
    public static List<int[]> calibration(java.nio.file.Path modelDir, int count, int seqLen) {
        int[] stream = stream(modelDir, "tinystories_train_head.txt");
        return TokenSequences.sample(stream, seqLen, (long) count * seqLen, SEED);
    }

    /** Consecutive full sequences of {@code seqLen} tokens from the held-out TinyStories sample. */
    public static List<int[]> heldOut(java.nio.file.Path modelDir, int seqLen) {
        int[] stream = stream(modelDir, "tinystories_sample.txt");
        return TokenSequences.chunks(stream, seqLen).stream().filter(s -> s.length == seqLen).toList();
    }

    private static int[] stream(java.nio.file.Path modelDir, String textFile) {
        Path text = HadoopFiles.path(Fixtures.text(textFile).toString());
        FileSystem fs = HadoopFiles.fileSystem(text, HadoopFiles.defaultConf());
        List<String> docs = TextDocuments.read(fs, text);
        try (TextTokenizer tokenizer = TextTokenizer.load(fs, HadoopFiles.path(modelDir.toString()))) {
            return TokenSequences.stream(tokenizer, docs, BOS, 0);
        }
    }
}
