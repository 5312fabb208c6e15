package io.evocompress.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Documents from a text file: JSON Lines ({@code .jsonl}, one object per line with a {@code text}
 * field) or plain text, where every non-empty line is a document.
 */
public final class TextDocuments {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TextDocuments() {
    }

    public static List<String> read(FileSystem fs, Path file) {
        if (TokenIdsFile.matches(file)) {
            throw new EvocompressException("Data file " + file + " is a safetensors file, but this setting takes text "
                + "(one document per line) or JSON Lines (.jsonl): pass the text it was tokenized from.");
        }
        boolean jsonl = file.getName().endsWith(".jsonl") || file.getName().endsWith(".json");
        List<String> docs = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                if (line.indexOf('\0') >= 0) {
                    throw new EvocompressException("Data file " + file + " is not text: line " + number
                        + " holds a NUL byte (a binary file?). Pass UTF-8 text, one document per line, or JSON Lines (.jsonl).");
                }
                if (jsonl) {
                    docs.add(jsonText(file, number, line));
                } else {
                    docs.add(line);
                }
            }
        } catch (FileNotFoundException e) {
            throw new EvocompressException("Data file " + file + " does not exist.", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read data file " + file, e);
        }
        if (docs.isEmpty()) {
            throw new EvocompressException("Data file " + file + " holds no text (it is empty or only blank lines).");
        }
        return docs;
    }

    private static String jsonText(Path file, int number, String line) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (IOException e) {
            throw new EvocompressException(file + " line " + number + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode text = node == null ? null : node.get("text");
        if (text == null || !text.isTextual()) {
            throw new EvocompressException(file + " line " + number + " has no string field 'text' (JSON Lines input needs one per line).");
        }
        return text.asText();
    }
}
