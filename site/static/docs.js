// Swagger UI over the catalogue's OpenAPI description, started from a file of this site:
// its Content-Security-Policy runs no inline script.
const root = document.getElementById('swagger-ui');
window.ui = SwaggerUIBundle({ url: root.dataset.openapiUrl, dom_id: '#swagger-ui', validatorUrl: null });
