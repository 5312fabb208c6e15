package io.evocompress.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.checkpoint.TensorInfo;
import io.evocompress.fs.AtomicDirectory;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A resumable training state, written atomically as one directory:
 * <pre>
 *   model/                    the weights as a Hugging Face checkpoint (float32, loadable by eval)
 *   optimizer/model.safetensors  AdamW moments: exp_avg.NAME and exp_avg_sq.NAME, float32
 *   trainer_state.json        {"step": t, "objective": ..., "learning_rate": ...}
 * </pre>
 * Resuming loads {@code model/} as the model, then {@link Trainer#restore} the moments and step; with
 * {@link TokenBatches} drawing each step's batch from (seed, step), the resumed run continues exactly
 * as the uninterrupted one.
 */
public final class TrainingState {
    public static final String MODEL = "model";
    public static final String OPTIMIZER = "optimizer";
    public static final String STATE_FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FIRST = "exp_avg.";
    private static final String SECOND = "exp_avg_sq.";

    /** What {@link #read} returns: the step count and the AdamW moments by parameter name. */
    public record Saved(long step, Map<String, float[]> firstMoments, Map<String, float[]> secondMoments) {
    }

    private TrainingState() {
    }

    /** Where the saved weights are: load the model to resume from here. */
    public static Path modelDir(Path stateDir) {
        return new Path(stateDir, MODEL);
    }

    static void write(FileSystem fs, Path dir, boolean overwrite, String configJson, CausalLm model, AdamW optimizer,
                      ObjectNode extra) {
        try (AtomicDirectory out = AtomicDirectory.create(fs, dir, overwrite)) {
            new CheckpointWriter(DType.F32, 1, false).write(fs, out.resolve(MODEL), configJson,
                TrainedCheckpoint.tensors(model), null, null);
            Map<String, ai.djl.ndarray.NDArray> moments = new LinkedHashMap<>();
            optimizer.firstMoments().forEach((name, m) -> moments.put(FIRST + name, m));
            optimizer.secondMoments().forEach((name, v) -> moments.put(SECOND + name, v));
            if (!moments.isEmpty()) {
                new CheckpointWriter(DType.F32, 1, false).write(fs, out.resolve(OPTIMIZER), "{}",
                    TrainedCheckpoint.tensors(moments), null, null);
            }
            ObjectNode state = extra.deepCopy();
            state.put("step", optimizer.step());
            try (FSDataOutputStream o = fs.create(out.resolve(STATE_FILE), false)) {
                o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state).getBytes(StandardCharsets.UTF_8));
            }
            out.commit();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write training state " + dir, e);
        }
    }

    /** Reads the step and moments of a state directory written by {@link Trainer#saveState}. */
    public static Saved read(FileSystem fs, Path dir) {
        Path stateFile = new Path(dir, STATE_FILE);
        JsonNode state;
        try {
            state = JSON.readTree(HadoopFiles.readUtf8(fs, stateFile, "training state (written by a training run)"));
        } catch (IOException e) {
            throw new EvocompressException(stateFile + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!state.path("step").canConvertToLong()) {
            throw new EvocompressException(stateFile + " has no integer 'step': it is not a training state.");
        }
        long step = state.path("step").asLong();
        Map<String, float[]> first = new LinkedHashMap<>();
        Map<String, float[]> second = new LinkedHashMap<>();
        Path file = new Path(new Path(dir, OPTIMIZER), CheckpointReader.SINGLE_FILE);
        if (step > 0) {
            try (SafetensorsFile moments = SafetensorsFile.open(fs, file)) {
                for (Map.Entry<String, TensorInfo> e : moments.tensors().entrySet()) {
                    String name = e.getKey();
                    if (name.startsWith(SECOND)) {
                        second.put(name.substring(SECOND.length()), moments.readFloat(e.getValue()));
                    } else if (name.startsWith(FIRST)) {
                        first.put(name.substring(FIRST.length()), moments.readFloat(e.getValue()));
                    }
                }
            }
        }
        return new Saved(step, first, second);
    }
}
