package io.evocompress.calibrate;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A text file tokenized with a model's tokenizer into one stream: {@code <s>} then the documents' tokens. */
public final class CalibrationText {
    private CalibrationText() {
    }

    public static int[] tokens(String model, String data) {
        try (CheckpointReader reader = CheckpointReader.open(model)) {
            ModelConfig config = ModelLoader.config(reader);
            Path path = HadoopFiles.path(data);
            FileSystem fs = HadoopFiles.fileSystem(path, HadoopFiles.defaultConf());
            try (TextTokenizer tokenizer = TextTokenizer.load(reader.fileSystem(), reader.dir())) {
                tokenizer.checkFits(config, model);
                return TokenSequences.stream(tokenizer, TextDocuments.read(fs, path), config.bosTokenId(), 0);
            }
        }
    }
}
