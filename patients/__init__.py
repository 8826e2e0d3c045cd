"""The sample domain app: patients of a lab, built on core's BaseModel."""
