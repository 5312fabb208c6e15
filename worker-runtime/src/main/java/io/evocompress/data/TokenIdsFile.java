package io.evocompress.data;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.checkpoint.TensorInfo;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A safetensors file whose integer tensor {@code token_ids} is one sequence, scored exactly as given. */
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
            long[] ids = st.readLongs(info);
            if (ids.length == 0) {
                throw new EvocompressException(file + ": tensor '" + TENSOR + "' is empty.");
            }
            int[] out = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                out[i] = Math.toIntExact(ids[i]);
            }
            return out;
        }
    }
}
