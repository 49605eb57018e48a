package kerio

func (c *ctx) filter(m string) bool          { return false }
func (c *ctx) http(m string) bool            { return false }
func (c *ctx) controlSecurity(m string) bool { return false }
func (c *ctx) connection(m string) bool      { return false }
func (c *ctx) dial(m string) bool            { return false }
func (c *ctx) host(m string) bool            { return false }
