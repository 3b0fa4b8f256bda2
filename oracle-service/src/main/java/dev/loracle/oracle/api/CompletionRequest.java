package dev.loracle.oracle.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;

import java.util.List;

/**
 * OpenAI-compatible completion request, plus the {@code adapters} extension: LoRA adapters by CID with a weight
 * (float, 1.0 = full strength, may be negative, not zero).
 */
public record CompletionRequest(
        @NotBlank(message = "model is required") String model,
        @NotNull(message = "prompt is required") @Size(min = 1, max = 4096, message = "prompt must be 1..4096 characters") String prompt,
        @JsonProperty("max_tokens") @Min(value = 1, message = "max_tokens must be >= 1") Integer maxTokens,
        @DecimalMin(value = "0.0", message = "temperature must be >= 0") @DecimalMax(value = "2.0", message = "temperature must be <= 2") Double temperature,
        @JsonProperty("top_p") @DecimalMin(value = "0.0001", message = "top_p must be > 0") @DecimalMax(value = "1.0", message = "top_p must be <= 1") Double topP,
        @Min(value = 0, message = "seed must be >= 0") Long seed,
        Boolean stream,
        @NotNull(message = "adapters is required (at least one {cid, weight})") @Size(min = 1, max = 8, message = "1..8 adapters")
        List<@Valid AdapterWeight> adapters) {

    public record AdapterWeight(@NotBlank(message = "adapter cid is required") String cid,
                                @NotNull(message = "adapter weight is required") @DecimalMin(value = "-100.0") @DecimalMax(value = "100.0") Double weight) {
    }
}
