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
 * OpenAI-compatible chat completion request ({@code messages} instead of {@code prompt}), with the same
 * {@code adapters} extension as {@link CompletionRequest}. The node renders the messages with its model's chat template.
 */
public record ChatCompletionRequest(
        @NotBlank(message = "model is required") String model,
        @NotNull(message = "messages is required") @Size(min = 1, max = 64, message = "messages must hold 1..64 messages")
        List<@Valid Message> messages,
        @JsonProperty("max_tokens") @Min(value = 1, message = "max_tokens must be >= 1") Integer maxTokens,
        @DecimalMin(value = "0.0", message = "temperature must be >= 0") @DecimalMax(value = "2.0", message = "temperature must be <= 2") Double temperature,
        @JsonProperty("top_p") @DecimalMin(value = "0.0001", message = "top_p must be > 0") @DecimalMax(value = "1.0", message = "top_p must be <= 1") Double topP,
        @Min(value = 0, message = "seed must be >= 0") Long seed,
        Boolean stream,
        @NotNull(message = "adapters is required (at least one {cid, weight})") @Size(min = 1, max = 8, message = "1..8 adapters")
        List<CompletionRequest.@Valid AdapterWeight> adapters) {

    public record Message(@NotBlank(message = "message role is required") String role,
                          @NotNull(message = "message content is required") @Size(max = 4096, message = "message content must be at most 4096 characters") String content) {
    }
}
