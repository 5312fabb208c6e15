package io.evocompress.data;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * A checkpoint's {@code tokenizer.json} (DJL's Hugging Face tokenizers), read from any Hadoop file
 * system, with truncation off (calibration text is long) and no special tokens added: callers add
 * {@code <s>} where they want it.
 */
public final class TextTokenizer implements AutoCloseable {
    public static final String FILE = "tokenizer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final int vocabularySize;
    private final Path path;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, int vocabularySize, Path path) {
        this.tokenizer = tokenizer;
        this.vocabularySize = vocabularySize;
        this.path = path;
    }

    /** Loads {@code dir/tokenizer.json}. */
    public static TextTokenizer load(FileSystem fs, Path dir) {
        Path file = new Path(dir, FILE);
        String json = HadoopFiles.readUtf8(fs, file, "tokenizer (the checkpoint directory needs tokenizer.json)");
        int vocab = vocabularySize(json, file);
        try {
            HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
                Map.of("truncation", "false", "addSpecialTokens", "false", "padding", "false"));
            return new TextTokenizer(tok, vocab, file);
        } catch (IOException | RuntimeException e) {
            throw new EvocompressException(file + " is not a valid Hugging Face tokenizer: " + e.getMessage(), e);
        }
    }

    /** One more than the largest token id the tokenizer can produce (model vocabulary and added tokens). */
    private static int vocabularySize(String json, Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new EvocompressException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        int max = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
                max = Math.max(max, it.next().asInt());
            }
        } else if (vocab.isArray()) {
            max = vocab.size() - 1; // Unigram: [[piece, score], ...]
        }
        for (JsonNode added : root.path("added_tokens")) {
            max = Math.max(max, added.path("id").asInt());
        }
        if (max < 0) {
            throw new EvocompressException(file + " has no vocabulary (model.vocab is missing or empty).");
        }
        return max + 1;
    }

    public int vocabularySize() {
        return vocabularySize;
    }

    /** Fails when the tokenizer can produce ids the model has no embedding for. */
    public void checkFits(ModelConfig config, String modelLocation) {
        if (vocabularySize > config.vocabSize()) {
            throw new EvocompressException(path + " has a vocabulary of " + vocabularySize
                + " tokens but the model at " + modelLocation + " has vocab_size " + config.vocabSize()
                + ": the tokenizer does not belong to this model. Use the tokenizer.json saved with the checkpoint.");
        }
    }

    /** Token ids of a text, without special tokens and without truncation. */
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Text of token ids, special tokens skipped (the tokenizer's own decoder, if it has one). */
    public String decode(int[] ids) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, true);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
