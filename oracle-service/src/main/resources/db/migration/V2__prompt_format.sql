-- How the prompt is written (the coordinator's PromptFormat): RAW text or a JSON list of CHAT messages.
ALTER TABLE inference_request ADD COLUMN prompt_format VARCHAR(8) DEFAULT 'RAW' NOT NULL;
