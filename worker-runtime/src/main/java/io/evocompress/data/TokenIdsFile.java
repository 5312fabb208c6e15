package io.evocompress.data;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.checkpoint.TensorInfo;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A safetensors file whose integer tensor {@code token_ids} is one sequence, scored exactly as given:
 * shape {@code [T]} or {@code [1, T]} with T >= 2 (the first position predicts the second), every id
 * non-negative and below 2^31 (the caller checks the model's vocabulary).
 */
public final class TokenIdsFile {
    public static final String TENSOR = "token_ids";

    private TokenIdsFile() {
    }

    public static boolean matches(Path file) {
        return file.getName().endsWith(".safetensors");
    }

    public static int[] read(FileSystem fs, Path file) {
        try (SafetensorsFile st = SafetensorsFile.open(fs, file)) {
            if (!st.tensors().containsKey(TENSOR)) {
                throw new EvocompressException(file + " holds no integer tensor '" + TENSOR + "' (tensors: "
                    + st.tensors().keySet() + ").");
            }
            TensorInfo info = st.info(TENSOR);
            long[] shape = info.shape();
            boolean oneSequence = shape.length == 1 || shape.length == 2 && shape[0] == 1;
            if (!oneSequence) {
                throw new EvocompressException(file + ": tensor '" + TENSOR + "' has shape " + info.shapeString()
                    + ", but it must be one sequence, shape [T] or [1, T]: save each sequence to its own file, or "
                    + "concatenate them.");
            }
            if (!info.dtype().isInteger()) {
                throw new EvocompressException(file + ": tensor '" + TENSOR + "' has dtype " + info.dtype()
                    + ", expected an integer type (I64, I32, I16, I8, U8).");
            }
            if (info.numel() < 2) {
                throw new EvocompressException(file + ": tensor '" + TENSOR + "' holds " + info.numel()
                    + " token id(s), but a sequence needs at least 2 (each position predicts the next): nothing to score.");
            }
            long[] ids = st.readLongs(info);
            int[] out = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] > Integer.MAX_VALUE) {
                    throw new EvocompressException(file + ": token id " + ids[i] + " at position " + i
                        + " is not a vocabulary index (token ids are non-negative and below the model's vocab_size).");
                }
                out[i] = (int) ids[i];
            }
            return out;
        }
    }
}
