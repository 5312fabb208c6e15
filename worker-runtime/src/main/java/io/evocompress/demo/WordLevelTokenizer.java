package io.evocompress.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * A word-level Hugging Face tokenizer for a fixed word list: {@code tokenizer.json} with a WordLevel
 * model, the Whitespace pre-tokenizer (splits on whitespace and between word characters and
 * punctuation) and no normalizer, plus {@code tokenizer_config.json}. Ids: {@code <unk>} 0,
 * {@code <s>} 1, {@code </s>} 2 (the Llama convention the demo config's bos/eos ids follow), then the
 * words in the order given. Decoding joins words with single spaces, which round-trips text written
 * that way.
 */
public final class WordLevelTokenizer {
    public static final String UNK = "<unk>";
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    private WordLevelTokenizer() {
    }

    /** Vocabulary size: the three specials plus the words. */
    public static int size(List<String> words) {
        return words.size() + 3;
    }

    public static String tokenizerJson(List<String> words) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        List<String> specials = List.of(UNK, BOS, EOS);
        for (int id = 0; id < specials.size(); id++) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", specials.get(id));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < specials.size(); id++) {
            vocab.put(specials.get(id), id);
        }
        for (int i = 0; i < words.size(); i++) {
            vocab.put(words.get(i), i + specials.size());
        }
        model.put("unk_token", UNK);
        return root.toPrettyString();
    }

    public static String tokenizerConfigJson(int maxLength) {
        ObjectNode c = JSON.createObjectNode();
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        c.put("bos_token", BOS);
        c.put("eos_token", EOS);
        c.put("unk_token", UNK);
        c.put("add_bos_token", true);
        c.put("add_eos_token", false);
        c.put("model_max_length", maxLength);
        c.put("clean_up_tokenization_spaces", false);
        return c.toPrettyString();
    }
}
