package kerio

func (c *ctx) mail(m string) bool                     { return false }
func (c *ctx) spam(m string) bool                     { return false }
func (c *ctx) operations(m string) bool               { return false }
func (c *ctx) warning(m string) bool                  { return false }
func (c *ctx) debug(m string) bool                    { return false }
func (c *ctx) config(m string) bool                   { return false }
func (c *ctx) configOther(m string, strict bool) bool { return false }
func (c *ctx) filter(m string) bool                   { return false }
func (c *ctx) http(m string) bool                     { return false }
func (c *ctx) controlSecurity(m string) bool          { return false }
func (c *ctx) connection(m string) bool               { return false }
func (c *ctx) dial(m string) bool                     { return false }
func (c *ctx) host(m string) bool                     { return false }
