"""Repository context: what the model is shown besides the text around the cursor."""
