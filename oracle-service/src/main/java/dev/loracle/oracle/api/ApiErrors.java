package dev.loracle.oracle.api;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

import java.util.stream.Collectors;

/** Clear answers for malformed or invalid JSON bodies and refused requests, in the OpenAI error shape. */
@RestControllerAdvice
public class ApiErrors {
    @ExceptionHandler(MethodArgumentNotValidException.class)
    ResponseEntity<?> invalid(MethodArgumentNotValidException e) {
        String message = e.getBindingResult().getFieldErrors().stream()
                .map(f -> f.getField() + ": " + f.getDefaultMessage()).collect(Collectors.joining("; "));
        return CompletionsController.error(HttpStatus.BAD_REQUEST, message, "invalid_request_error");
    }

    @ExceptionHandler(ApiRequests.Refused.class)
    ResponseEntity<?> refused(ApiRequests.Refused e) {
        return e.answer;
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<?> unreadable(HttpMessageNotReadableException e) {
        return CompletionsController.error(HttpStatus.BAD_REQUEST, "request body is not valid JSON for this endpoint: "
                + e.getMostSpecificCause().getMessage(), "invalid_request_error");
    }
}
