package io.evocompress.calibrate;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelReference;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A data file as one token stream for a model: text tokenized with the model's tokenizer ({@code <s>} then
 * the documents' tokens), or a {@code .safetensors} file whose integer tensor {@code token_ids} is the stream
 * itself, taken as given (no tokenizer needed: e.g. a {@code synth-model} checkpoint).
 */
public final class CalibrationText {
    private CalibrationText() {
    }

    public static int[] tokens(String model, String data) {
        return tokens(ModelReference.resolve(model), data);
    }

    /** The data for a model the command resolved (the tokenizer is read next to its checkpoint). */
    public static int[] tokens(ModelReference model, String data) {
        try (CheckpointReader reader = CheckpointReader.open(model.location())) {
            return tokens(reader, model.config(), model.location(), data);
        }
    }

    /** As {@link #tokens(String, String)}, with the model's checkpoint already open. */
    public static int[] tokens(CheckpointReader reader, ModelConfig config, String model, String data) {
        Path path = HadoopFiles.path(data);
        FileSystem fs = HadoopFiles.fileSystem(path, HadoopFiles.defaultConf());
        if (TokenIdsFile.matches(path)) {
            int[] ids = TokenIdsFile.read(fs, path);
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] >= config.vocabSize()) {
                    throw new EvocompressException(path + ": token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary of " + model + " [0, " + config.vocabSize() + ").");
                }
            }
            return ids;
        }
        try (TextTokenizer tokenizer = TextTokenizer.load(reader.fileSystem(), reader.dir())) {
            tokenizer.checkFits(config, model);
            return TokenSequences.stream(tokenizer, TextDocuments.read(fs, path), config.bosTokenId(), 0);
        }
    }
}
