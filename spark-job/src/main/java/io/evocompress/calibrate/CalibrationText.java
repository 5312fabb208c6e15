package io.evocompress.calibrate;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelReference;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A text file tokenized with a model's tokenizer into one stream: {@code <s>} then the documents' tokens. */
public final class CalibrationText {
    private CalibrationText() {
    }

    public static int[] tokens(String model, String data) {
        return tokens(ModelReference.resolve(model), data);
    }

    /** The text at {@code data} tokenized with the tokenizer next to the model's checkpoint. */
    public static int[] tokens(ModelReference model, String data) {
        try (CheckpointReader reader = CheckpointReader.open(model.location())) {
            ModelConfig config = model.config();
            Path path = HadoopFiles.path(data);
            FileSystem fs = HadoopFiles.fileSystem(path, HadoopFiles.defaultConf());
            try (TextTokenizer tokenizer = TextTokenizer.load(reader.fileSystem(), reader.dir())) {
                tokenizer.checkFits(config, model.location());
                return TokenSequences.stream(tokenizer, TextDocuments.read(fs, path), config.bosTokenId(), 0);
            }
        }
    }
}
